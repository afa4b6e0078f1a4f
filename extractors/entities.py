"""Entities in recruiter mail: salary figures, people and their titles, the sender's role.

Pure Python (``re``), no spaCy: these run on short strings and must also work where the
pipeline is not loaded (the classifier, the store).

>>> [s.as_dict() for s in find_salaries("I'm looking for 150-160K base.")]
[{'currency': None, 'period': 'year', 'text': '150-160K', 'min': 150000.0, 'max': 160000.0}]
>>> classify_title("Senior Technical Recruiter | Northwind Analytics")
'recruiter'
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from offerwatch.models.domain import Salary

# ---------------------------------------------------------------------------- salaries

_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "us$": "USD", "c$": "CAD", "ca$": "CAD",
            "a$": "AUD", "fr.": "CHF", "kr": None}
_CODES = ("USD", "EUR", "GBP", "CAD", "CHF", "DKK", "SEK", "NOK", "AUD", "NZD", "INR", "PLN", "JPY", "BRL", "SGD",
          "HKD", "MXN", "ZAR", "CZK", "HUF", "ILS", "AED")
_WORDS = {"euro": "EUR", "euros": "EUR", "dollars": "USD", "pounds": "GBP", "francs": "CHF", "kronor": "SEK",
          "kroner": "DKK", "rupees": "INR", "zloty": "PLN", "złotych": "PLN", "zł": "PLN"}
_CUR = r"(?:US\$|CA?\$|A\$|[$€£¥₹]|\b(?:%s)\b)" % "|".join(_CODES)
_NUM = r"\d{1,3}(?:[,.'’\u202f\u00a0 ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_MULT = r"(?:\s?(?:k|K|m|M|mn|thousand|million)\b)"
_WORD_CUR = r"(?:%s)" % "|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True))
_SALARY_RE = re.compile(
    rf"""
    (?P<c1>{_CUR})?\s?
    (?P<n1>{_NUM})(?P<m1>{_MULT})?
    (?:\s?(?P<c1b>[$€£]|\b(?:{'|'.join(_CODES)})\b))?
    (?:\s?(?:-|–|—|to|and|bis)\s?(?P<c2>{_CUR})?\s?(?P<n2>{_NUM})(?P<m2>{_MULT})?)?
    (?:\s?(?P<c3>[$€£]|\b(?:{'|'.join(_CODES)})\b|\b{_WORD_CUR}\b))?
    """,
    re.X,
)
_PERIOD_RE = re.compile(
    r"""^[\s,]*(?:gross|brutto|net|netto|base|before\s+tax(?:es)?|pre-tax|\(.{0,20}\))?\s*
    (?:(?:per|a|an|/|each|p\.?)\s?(?P<unit>year|yr|annum|a\.?|hour|hr|h|month|mo|mth|day|week|wk)\b\.?
      |(?P<adv>annually|yearly|monthly|hourly|daily|weekly|p\.a\.|pa\b|/yr|/hr|/h\b|/mo\b))""",
    re.X | re.I,
)
_CONTEXT_RE = re.compile(
    r"\b(salary|salaries|base|comp|compensation|pay|paid|rate|expectations?|gross|brutto|net|ctc|package|range|"
    r"target(?:ing)?|looking\s+for|earn|offer|annual|yearly|per\s+(?:year|annum|hour|month|day)|hour|month)\b",
    re.I,
)
#: Figures that are money but not a salary: bonuses, equity, fees, relocation, rent ...
_NOT_SALARY_RE = re.compile(
    r"\b(bonus|sign[-\s]?on|signing|relocation|stipend|allowance|equity|options?|rsus?|shares|fee|fees|gift\s*card|"
    r"lump\s+sum|deposit|rent|apr|credit|budget\s+for|reimburse\w*|travel|another\s+offer|other\s+offer|"
    r"competing\s+offer|per\s+month\s+rent|funding|raised|valuation|revenue|series\s+[a-f])\b",
    re.I,
)
_UNITS = {"year": "year", "yr": "year", "annum": "year", "a": "year", "a.": "year", "hour": "hour", "hr": "hour",
          "h": "hour", "month": "month", "mo": "month", "mth": "month", "day": "day", "week": "week", "wk": "week"}
_ADVS = {"annually": "year", "yearly": "year", "monthly": "month", "hourly": "hour", "daily": "day", "weekly": "week",
         "p.a.": "year", "pa": "year", "/yr": "year", "/hr": "hour", "/h": "hour", "/mo": "month"}


#: Cheap pre-check: a currency sign or code, a "k" figure or a thousands group somewhere.
_MONEYISH = re.compile(r"[$€£¥₹]|\b(?:%s)\b|\d\s?(?:k|K|thousand)\b|\d[,.'’\u202f\u00a0 ]\d{3}\b|\b(?:euros?|dollars|pounds|francs|kr)\b" % "|".join(_CODES))
# The same test split so that each part starts with a character class the regex engine can
# skip to (a leading \b makes it try every position): _moneyish(text) == bool(_MONEYISH.search(text)).
_MONEY_SIGN = re.compile(r"[$€£¥₹]")
_MONEY_DIGITS = re.compile(r"\d(?:\s?(?:k|K|thousand)\b|[,.'’\u202f\u00a0 ]\d{3}\b)")
_MONEY_CODE = re.compile(r"(?:%s)\b" % "|".join(_CODES))
_MONEY_WORD = re.compile(r"(?:euros?|dollars|pounds|francs|kr)\b")
_WORD_START = re.compile(r"\b")
_DIGIT = re.compile(r"\d")
#: Characters a salary match can start before its first digit: a currency (3) and a space.
_MAX_LEAD = 4


def _moneyish(text: str) -> bool:
    if _MONEY_SIGN.search(text) or _MONEY_DIGITS.search(text) or _word_at_start(_MONEY_CODE, text):
        return True
    if "euro" in text or "dollars" in text or "pounds" in text or "francs" in text or "kr" in text:
        return _word_at_start(_MONEY_WORD, text)
    return False


def _word_at_start(pattern: re.Pattern[str], text: str) -> bool:
    """Does ``\\b`` + ``pattern`` match somewhere (the \\b checked apart, see _MONEY_SIGN)?"""
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        if _WORD_START.match(text, m.start()):
            return True
        pos = m.start() + 1
    return False


def _salary_matches(text: str) -> Iterator[re.Match[str]]:
    """``_SALARY_RE.finditer(text)``, trying only the positions a match can start at.

    Every match contains a number, and starts at most :data:`_MAX_LEAD` characters before
    its first digit; ``finditer`` would fail everywhere else, just more slowly.
    """
    pos = 0
    tried = -1
    for d in _DIGIT.finditer(text):
        q = d.start()
        if q < pos:
            continue
        for p in range(max(pos, q - _MAX_LEAD, tried + 1), q + 1):
            tried = p
            m = _SALARY_RE.match(text, p)
            if m is not None:
                yield m
                pos = m.end()
                break


def _number(raw: str) -> float | None:
    s = raw.replace("\u202f", " ").replace("\u00a0", " ").replace("’", "'")
    groups = re.split(r"[,.' ]", s)
    seps = re.findall(r"[,.' ]", s)
    if not seps:
        return float(s)
    # 1,234,567 / 92.000 / 135'000: every group after the first has three digits
    if all(len(g) == 3 for g in groups[1:]) and len(groups[0]) <= 3:
        if len(seps) == 1 and seps[0] in ",." and len(groups[0]) == 1 and groups[0] == "0":
            return float(s.replace(",", "."))
        return float("".join(groups))
    # thousands then decimals: 1,234.56 or 1.234,56
    if len(seps) >= 2 and all(len(g) == 3 for g in groups[1:-1]) and len(groups[-1]) <= 2:
        return float("".join(groups[:-1]) + "." + groups[-1])
    if len(seps) == 1 and seps[0] in ",." and len(groups[1]) <= 2:
        return float(groups[0] + "." + groups[1])
    return None


def _mult(m: str | None) -> float:
    if not m:
        return 1.0
    m = m.strip().lower()
    return 1000.0 if m in {"k", "thousand"} else 1_000_000.0


def _currency(*tokens: str | None) -> str | None:
    for t in tokens:
        if not t:
            continue
        t = t.strip()
        low = t.lower()
        if t.upper() in _CODES:
            return t.upper()
        if low in _SYMBOLS:
            return _SYMBOLS[low]
        if low in _WORDS:
            return _WORDS[low]
    return None


def find_salaries(text: str, *, limit: int = 20) -> list[Salary]:
    """Salary figures as people write them: "$165k", "150-160K", "£80,000", "92.000–98.000 brutto",
    "135'000 CHF", "$52/hour". Bonuses, equity, fees and relocation sums are left out.

    >>> [(s.min, s.max, s.currency, s.period) for s in find_salaries("€92.000–98.000 brutto per year")]
    [(92000.0, 98000.0, 'EUR', 'year')]
    >>> [(s.min, s.currency, s.period) for s in find_salaries("my rate is $95/hour, or CHF 135'000")]
    [(95.0, 'USD', 'hour'), (135000.0, 'CHF', 'year')]
    """
    out: list[Salary] = []
    if not text or not _moneyish(text):
        return out
    for m in _salary_matches(text):
        if len(out) >= limit:
            break
        n1, n2 = m.group("n1"), m.group("n2")
        start, end = m.start("n1") if not m.group("c1") else m.start("c1"), m.end()
        # not part of a longer token: dates (9/22), times (10:00), phone numbers, percentages
        before = text[max(0, start - 1) : start]
        after = text[end : end + 1]
        if before and (before.isalnum() or before in "/:#+.") and not m.group("c1"):
            continue
        if after and (after in "%/:" and not text[end : end + 2].startswith(("/h", "/y", "/m", "/d", "/w"))):
            if after == "%" or after == ":":
                continue
        cur = _currency(m.group("c1"), m.group("c1b"), m.group("c2"), m.group("c3"))
        if cur is None and not (m.group("m1") or m.group("m2")):
            continue  # a bare number without a multiplier is never a salary (checked below, cheaply here)
        k1, k2 = _mult(m.group("m1")), _mult(m.group("m2"))
        v1 = _number(n1)
        v2 = _number(n2) if n2 else None
        if v1 is None or (n2 and v2 is None):
            continue
        if n2 and not m.group("m1") and m.group("m2") and v1 < 1000:
            k1 = k2  # "150-160K": the K covers both
        lo = v1 * k1
        hi = (v2 * k2) if v2 is not None else lo
        if hi < lo:
            lo, hi = hi, lo
        window_before = text[max(0, start - 45) : start]
        window_after = text[end : end + 40]
        has_k = bool(m.group("m1") or m.group("m2"))
        if cur is None:
            # bare numbers need a multiplier and salary words around them
            if not has_k or not _CONTEXT_RE.search(window_before + " " + window_after):
                continue
            if 1900 <= v1 <= 2100 and not has_k:
                continue
        if _NOT_SALARY_RE.search(window_before[-30:]) or re.match(r"^\s*(?:sign|bonus|lump|equity|options?|rsu|fee)", window_after, re.I):
            continue
        if lo < 5 or lo > 50_000_000:
            continue
        pm = _PERIOD_RE.match(window_after)
        if pm:
            unit = pm.group("unit")
            period = _UNITS.get(unit.lower(), "year") if unit else _ADVS.get(pm.group("adv").lower(), "year")
        elif lo < 300:
            period = "hour"
        elif lo < 20_000 and re.search(r"\b(month|monthly|mes|monat)\b", window_after, re.I):
            period = "month"
        else:
            period = "year"
        out.append(Salary(min=lo, max=hi, currency=cur, period=period, text=text[start:end].strip()))
    return out


# ---------------------------------------------------------------------------- titles and roles

#: Titles that name the person who hires for the post, whatever their grade: the US federal
#: "selecting official", the UK civil service's "vacancy holder", a grant's PI.
_HM_PHRASE = re.compile(
    r"\b(?:hiring\s+manager|selecting\s+official|hiring\s+official|vacancy\s+(?:holder|manager)|recruiting\s+manager|"
    r"(?-i:PI)|principal\s+investigator|(?:lead\s+)?chief\s+investigator)\b", re.I)
_COORDINATOR = re.compile(
    r"\b(coordinator|co-ordinator|scheduler|scheduling|assistant\s+to|executive\s+assistant|search\s+committee|"
    r"recruiting\s+operations|(?:office|studio|practice|front\s+desk)\s+manager|administrator|administrative|secretary|personal\s+assistant|"
    r"receptionist)\b",
    re.I,
)
_RECRUITER = re.compile(
    r"\b(recruit\w*|talent|sourc(?:er|ing)|resourc(?:er|ing)|hr|human\s+resources|people\s+(?:partner|team|operations|ops|and)|people\s*(?:&|and)\s*(?:culture|talent|experience)|"
    r"head\s+of\s+people|people\s*$|chief\s+people|staffing|headhunter|acquisition|hiring\s+team|careers?|"
    r"personalreferent\w*|ressources\s+humaines|rrhh|recrutement|recrutamento|reclutamiento)\b",
    re.I,
)
_LEADER = re.compile(
    r"\b(vp|svp|evp|vice[-\s]president|director|directeur|directrice|directora|direktor\w*|diretor\w*|direttore|"
    r"head\s+of|(?:department|dept\.?|division|faculty|school)\s+head|editor[-\s]in[-\s]chief|"
    r"(?<!section\s)(?<!branch\s)(?<!deputy\s)(?<!team\s)(?<!shift\s)(?<!unit\s)(?<!crew\s)(?<!squad\s)(?<!station\s)chief|ceo|cto|cfo|coo|cio|cmo|cpo|cdo|cso|ciso|cro|c-level|founder|co-?founder|founding\s+partner|"
    r"president|dean|provost|managing\s+partner|geschäftsführer\w*|gründer\w*|fondat\w+|fundador\w*|pdg|"
    r"bereichsleiter\w*|partner(?!\s+(?:manager|success|marketing|programs?))|general\s+counsel|superintendent|"
    r"head\s*teacher|headmaster|headmistress|principal(?!\s+(?:investigator|engineer|scientist|consultant|designer|"
    r"analyst|developer|architect|product|data|software|associate|recruiter|pm\b))|chairperson|board\s+chair|"
    r"chair\s+of\s+the\s+board|(?<!product\s)(?<!process\s)(?<!account\s)(?<!project\s)(?:co-?)?owner|proprietor)\b",
    re.I,
)
_MANAGER = re.compile(
    r"\b(manager|management|team\s+lead|tech\s+lead|engineering\s+lead|\w+\s+lead|lead\s+\w+|supervisor|"
    r"(?:department|dept\.?|program|programme)\s+chair|chair\s*,?\s*(?:of\s+)?(?:the\s+)?[\w\s&]*department|"
    r"chair\b(?!\s*,?\s*[\w\s]*committee)|principal\s+investigator|leiter\w*|responsable|gerente|teamleiter\w*|"
    r"matron|charge\s+nurse|ward\s+sister|sister|head\s+chef|owner|proprietor|foreman|forewoman|"
    r"(?:managing|commissioning|executive|features|news|section|deputy)\s+editor|head\s+of\s+\w+\s+department|deputy\s+head)\b",
    re.I,
)
_ASSISTANT = re.compile(r"\b(assistant|associate)\s+(to|of)\b", re.I)


def classify_title(title: str) -> str | None:
    """The role a job title implies: "recruiter", "coordinator", "hiring_manager", "leader" or None.

    Recruiting and HR titles win over seniority ("Director of Human Resources" and "Head of
    People" are recruiters here), assistants are coordinators ("Assistant to the Head of
    School"), and a search-committee chair is not the hiring manager.

    >>> [classify_title(t) for t in ("VP of Data", "Head of People", "Engineering Manager",
    ...                              "Recruiting Coordinator", "Chair, Computer Science Department")]
    ['leader', 'recruiter', 'hiring_manager', 'coordinator', 'hiring_manager']
    """
    if not title:
        return None
    t = title.strip()
    if _HM_PHRASE.search(t):
        return "hiring_manager"
    if _COORDINATOR.search(t) or _ASSISTANT.search(t):
        return "coordinator"
    if _RECRUITER.search(t):
        return "recruiter"
    if _LEADER.search(t):
        return "leader"
    if _MANAGER.search(t):
        return "hiring_manager"
    return None


_CONTACT = re.compile(r"@|https?://|www\.|\+?\d[\d\s().-]{6,}\d|^\s*[tmfpe]\s*[:.]?\s*\+", re.I)
_SIGNOFF = re.compile(
    r"^\s*(best|kind|warm|warmest|many|all|with|regards|cheers|thanks|thank|sincerely|yours|talk|speak|"
    r"looking|viele|mit|herzliche|venlig|un\s+saludo|saludos|cordialement|groetjes|mvh|med|gg|--|__)\b",
    re.I,
)
_SEGMENT_SPLIT = re.compile(r"\s+[|·•–—-]\s+|\s*\|\s*")


def find_title(signature: str) -> tuple[str | None, str | None]:
    """The sender's title in a signature block and the role it implies.

    >>> find_title("Best,\\nPriscilla Wong\\nTalent Acquisition Partner | Harborline Bank\\nT +1 212 555 0143")
    ('Talent Acquisition Partner', 'recruiter')
    >>> find_title("--\\nTheo Brandt\\nCo-founder & CEO, Quillstone")
    ('Co-founder & CEO, Quillstone', 'leader')
    >>> find_title("Katrin Vogt\\nRecruiting\\nKessler GmbH\\nGeschäftsführer: Dr. Hendrik Kessler, Martina Albers")
    ('Recruiting', 'recruiter')
    >>> find_title("Kessler GmbH | Sitz: Hamburg\\nGeschäftsführer: Dr. Hendrik Kessler, Martina Albers")
    (None, None)
    """
    if not signature:
        return None, None
    lines = [ln.strip() for ln in signature.splitlines() if ln.strip()][:12]
    title, role = _title_in(lines)
    if role in ("leader", "hiring_manager") and any(_AGENCY.search(ln) for ln in lines):
        return title, "recruiter"  # "Associate Director | Apex Talent Asia": an agency's consultant
    return title, role


#: A recruitment agency's name or line in a signature.
_AGENCY = re.compile(r"\b(recruit\w*|talent|staffing|search|selection|headhunt\w*|personnel|resourcing|placements?|"
                     r"hr\s+services|consultants|careers)\b", re.I)
#: An agency speaking for its client: the writer is a recruiter whatever their title.
AGENCY_VOICE = re.compile(r"\b(?:my|our|the) client(?:'s)?\b|\b(?:submitted|sent|put forward|presented) your (?:cv|profile|resume)\b", re.I)


#: A company's legal footer, not the writer's title: "Geschäftsführer: Dr. H. Kessler, M. Albers",
#: "Directors: A. Smith, B. Jones", "Sitz der Gesellschaft: Hamburg | Registergericht ...".
_LEGAL_LINE = re.compile(
    r"\s*(?:geschäftsführ\w*|gesch\.?\s*führ\w*|vorstand|aufsichtsrat\w*|managing\s+directors?|directors|board\s+of\s+directors|"
    r"sitz\s+der\s+gesellschaft|registergericht|amtsgericht|registered\s+(?:office|in)|company\s+(?:number|registration)|"
    r"handelsregister|ust-?id\w*|vat\s+(?:no|number|reg)|g[ée]rant|administrateurs?|consejeros?|bestuurders?|directie)\b[^:\n]{0,30}:",
    re.I,
)


def _title_in(lines: list[str]) -> tuple[str | None, str | None]:
    fallback: tuple[str | None, str | None] = (None, None)
    for line in lines:
        if len(line) > 120 or _SIGNOFF.match(line) and len(line.split()) <= 4 or _LEGAL_LINE.match(line):
            continue
        for seg in _SEGMENT_SPLIT.split(line):
            seg = seg.strip(" ,;")
            if not seg or _CONTACT.search(seg):
                continue
            role = classify_title(seg)
            if role is not None:
                return seg, role
        if fallback == (None, None) and re.search(r"\b(professor|lecturer|engineer|scientist|analyst|partner|host)\b", line, re.I):
            fallback = (line, None)
    return fallback


_SELF_INTRO = re.compile(
    r"(?:(?=[imth])\b(?:i\s*'?m|i\s+am|i\s+work\s+as|my\s+role\s+is|this\s+is\s+\w+(?:\s+\w+)?\s*,?|it\s*'?s\s+(?-i:[A-Z])\w+\s*,)\s+"
    r"(?:[A-ZÀ-Þ][\w'’-]+(?:\s+[A-ZÀ-Þ][\w'’-]+)?\s*,\s*)?(?:the|a|an|your|one\s+of\s+the)?\s*"
    r"|^\s*\w+(?:\s+\w+)?\s+here\s*[,\-–—]\s*(?:i\s*'?m\s+(?:the|a|an)?\s*)?)"
    r"(?P<title>[^.,;!?\n()]{3,80})",
    re.I | re.M,
)
# (?=[imth]) only lets the regex engine skip positions where no alternative can start.
_SELF_HINT = re.compile(r"(?i)(?=[imth])\b(?:i\s*'?m\b|i\s+(?:am|work|recruit|lead|hire|run)\b|my\s+role\b|this\s+is\b|it\s*'?s\s+(?-i:[A-Z])|here\b)")
_SELF_VERB = re.compile(r"\b(?:i\s+(?:recruit|lead\s+recruiting|hire|run\s+recruiting|run\s+talent))\b", re.I)


_NOT_A_TITLE = re.compile(
    r"(?:delighted|pleased|happy|glad|thrilled|excited|writing|reaching|following|sorry|afraid|looking|sure|keen|"
    r"hoping|going|not|still|just|so|very|currently|now|also|really|confident|aware|able|unable|attaching|sending|"
    r"sharing|here|back|available|free|out|away|reaching|contacting|emailing|pleased|thrilled|excited|interested|"
    r"impressed|honoured|honored|attaching|forwarding|following up|checking|getting|trying|planning)\b",
    re.I,
)


def self_intro_role(text: str) -> tuple[str | None, str | None]:
    """The role a writer gives themselves in the first lines: "I'm the hiring manager for ...",
    "Theo here, co-founder and CEO", "I recruit for our engineering teams".

    >>> self_intro_role("Hi Maya,\\n\\nJonas here - I'm the founder of Loomwork, and the role reports to me.")
    ('founder of Loomwork', 'leader')
    """
    head = text[:600]
    hints = list(_SELF_HINT.finditer(head))
    if not hints:
        return None, None
    tried: set[int] = set()
    for h in hints:
        # the introduction starts at the hint ("I'm the ..."), or at its line ("Theo here, ...")
        pos = head.rfind("\n", 0, h.start()) + 1 if h.group(0).lower() == "here" else h.start()
        if pos in tried:
            continue
        tried.add(pos)
        m = _SELF_INTRO.match(head, pos)
        if m is None:
            continue
        title = m.group("title").strip()
        if _NOT_A_TITLE.match(title):
            continue  # "I am delighted to offer you ...", "I'm writing to ..."
        # cut the title at a relative clause or conjunction: "the recruiter who owns ..."
        title = re.split(r"\s+(?:who|that|and\s+(?:i|we|the|this|would|wanted)|for\s+the\s+\w+\s+(?:role|search|position)|here\s+at)\b", title, maxsplit=1, flags=re.I)[0]
        role = classify_title(title)
        if role is not None and len(title.split()) <= 10:
            return title.strip(), role
    if any(h.group(0).lower().startswith("i") for h in hints):
        m2 = _SELF_VERB.search(head)
        if m2:
            return m2.group(0), "recruiter"
    return None, None


def sender_role(text: str, signature: str) -> tuple[str | None, str | None]:
    """The writer's (title, role) from a self-introduction or the signature; a hiring manager
    or leader introducing themselves wins over a signature title.

    >>> sender_role("Hi Maya, I'm the hiring manager for the role.", "Jo Park\\nRecruiter")
    ('hiring manager for the role', 'hiring_manager')
    """
    sig_title, sig_role = find_title(signature)
    intro_title, intro_role = self_intro_role(text) if text.strip() else (None, None)
    if intro_role in ("hiring_manager", "leader") or not sig_role:
        return (intro_title if intro_role else sig_title), intro_role or sig_role
    return sig_title, sig_role


# ---------------------------------------------------------------------------- people near a title

_NAME_TOKEN = r"(?:[A-ZÀ-ÖØ-ÞĀ-ſ][\w'’\-À-ÿĀ-ſ]+)"
_PERSON_RE = re.compile(rf"(?:(?:Dr|Mr|Ms|Mrs|Prof)\.?\s+)?{_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{1,2}}")
_NOT_NAMES = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February", "March",
    "April", "May", "June", "July", "August", "September", "October", "November", "December", "Zoom", "Teams",
    "Google", "Meet", "Microsoft", "VP", "Head", "Director", "Chief", "Officer", "Founder", "Our", "The", "Data",
    "Engineering", "Vice", "President", "Managing", "Senior", "Interviewer", "Interviewers", "Conversation",
}


def person_near(text: str, start: int, end: int) -> str | None:
    """The person named next to a title at ``text[start:end]``: "Marcus Hale, our VP of Data",
    "our CTO Paweł Zieliński", "Theo Brandt (Co-founder & CEO)".

    >>> t = "A conversation with Marcus Hale, our VP of Data"
    >>> person_near(t, t.index("VP"), len(t))
    'Marcus Hale'
    """
    lo, hi = max(0, start - 60), min(len(text), end + 60)
    best: tuple[int, str] | None = None
    for m in _PERSON_RE.finditer(text, lo, hi):
        m_start, m_end = m.start(), m.end()
        words = m.group(0).split()
        # drop title words and acronyms at either end: "CTO Paweł Zieliński" -> "Paweł Zieliński"
        while words and (words[0].strip(".") in _NOT_NAMES or (words[0].isupper() and len(words[0]) <= 5)):
            m_start = text.index(words[0], m_start) + len(words[0])
            words = words[1:]
        while words and (words[-1].strip(".") in _NOT_NAMES or (words[-1].isupper() and len(words[-1]) <= 5)):
            m_end = text.rindex(words[-1], m_start, m_end)
            words = words[:-1]
        names = [w for w in words if w.rstrip(".") not in {"Dr", "Mr", "Ms", "Mrs", "Prof"}]
        if len(names) < 2:
            continue
        if m_start < end and m_end > start:
            continue  # the title itself
        gap = start - m_end if m_end <= start else m_start - end
        between = text[m_end:start] if m_end <= start else text[end:m_start]
        if "\n" in between or gap > 40:
            continue
        name = " ".join(names)
        if best is None or gap < best[0]:
            best = (gap, name)
    return best[1] if best else None


_TITLE_TAIL = re.compile(
    r"(?:(?:[ \t]+|[ \t]*&[ \t]*|,[ \t]*(?=(?:Head|Director|VP|Vice|Chief|Data|AI|Engineering|Product)\b))"
    r"(?:of|for|the|&|[A-Z][\w&/+\-]*))*"
)


def title_at(text: str, start: int, end: int) -> str:
    """Extend a matched leader word ("VP", "Director", "Head of") to the full title.

    >>> t = "our VP of Data, Marcus Hale"
    >>> title_at(t, 4, 6)
    'VP of Data'
    """
    word = text[start:end]
    nxt = text[end : end + 4]
    if word.isupper() and not re.match(r"[ \t]*(?:of\b|,|&)", nxt):
        return word  # "our CTO Paweł Zieliński": the capitals that follow are a name
    tail = _TITLE_TAIL.match(text, end)
    stop = tail.end() if tail else end
    title = text[start:stop]
    title = re.sub(r"[\s,&]*(?:and|the|of|for|&)?\s*$", "", title)
    return title.strip(" ,")


def iter_lines(text: str) -> Iterator[str]:
    yield from (ln for ln in text.splitlines() if ln.strip())
