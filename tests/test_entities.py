"""Salary figures, titles, roles and people are read the way people write them."""

from __future__ import annotations

import pytest

from offerwatch.extractors.entities import classify_title, find_salaries, find_title, person_near, self_intro_role


@pytest.mark.parametrize(
    ("text", "lo", "hi", "cur", "period"),
    [
        ("I'm looking for $165k base.", 165000, 165000, "USD", "year"),
        ("a range of 150-160K base", 150000, 160000, None, "year"),
        ("my expectation is £80,000", 80000, 80000, "GBP", "year"),
        ("€92.000–98.000 brutto per year", 92000, 98000, "EUR", "year"),
        ("CHF 135'000 per year", 135000, 135000, "CHF", "year"),
        ("135'000 CHF", 135000, 135000, "CHF", "year"),
        ("$52/hour on W2", 52, 52, "USD", "hour"),
        ("5.500 € gross per month", 5500, 5500, "EUR", "month"),
        ("DKK 62.000 per month", 62000, 62000, "DKK", "month"),
        ("CAD 180–190k base", 180000, 190000, "CAD", "year"),
        ("$160k-$170k", 160000, 170000, "USD", "year"),
        ("between $120,000 and $140,000 a year", 120000, 140000, "USD", "year"),
    ],
)
def test_salary_forms(text: str, lo: float, hi: float, cur: str | None, period: str) -> None:
    (s,) = find_salaries(text)
    assert (s.min, s.max, s.currency, s.period) == (lo, hi, cur, period)


@pytest.mark.parametrize(
    "text",
    ["Sign-on bonus: $5,000", "Equity: 4,000 RSUs", "Relocation: CHF 10'000 lump sum", "Tue 9/22: 10:00-12:00 CT",
     "the 2026-2027 academic year", "a 10% bonus", "call me at +1 312 555 0148"],
)
def test_not_salaries(text: str) -> None:
    assert find_salaries(text) == []


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("Senior Technical Recruiter", "recruiter"), ("Talent Acquisition Partner", "recruiter"),
        ("Head of People", "recruiter"), ("Director of Human Resources", "recruiter"),
        ("Recruiting Coordinator", "coordinator"), ("Assistant to the Head of School", "coordinator"),
        ("Chair, Lecturer Search Committee", "coordinator"), ("VP of Data", "leader"),
        ("Co-founder & CEO", "leader"), ("Director of Data Engineering", "leader"), ("Head of Engineering", "leader"),
        ("Geschäftsführer", "leader"), ("Engineering Manager, Data Platform", "hiring_manager"),
        ("Chair, Computer Science Department", "hiring_manager"), ("Professor of Statistics", None),
        ("Resourcer", "recruiter"), ("Department Head, Mathematics", "leader"), ("Editor-in-Chief", "leader"),
        ("Managing Editor", "hiring_manager"), ("Copy Editor", None), ("Deputy Head", "hiring_manager"),
        ("Chef and owner", "leader"), ("Co-owner, Brightside Bakery", "leader"), ("Product Owner", "hiring_manager"),
        ("People & Culture Lead", "recruiter"), ("People and Culture Manager", "recruiter"),
        # who runs the studio's or the practice's diary books the interviews; the hiring is someone else's
        ("Studio Manager, Fieldhouse", "coordinator"), ("Practice Manager", "coordinator"),
        ("Operations Manager", "hiring_manager"),
    ],
)
def test_title_roles(title: str, role: str | None) -> None:
    assert classify_title(title) == role


def test_find_title_in_signatures() -> None:
    assert find_title("Best,\nPriscilla Wong\nTalent Acquisition Partner | Harborline Bank\nT +1 212 555 0143") == (
        "Talent Acquisition Partner", "recruiter")
    assert find_title("Hannah Price - Talent Lead - Cobalt & Finch - 55 Water St") == ("Talent Lead", "recruiter")
    assert find_title("Thanks,\nJenna") == (None, None)


def test_self_introductions() -> None:
    assert self_intro_role("Hi Maya,\n\nI'm the hiring manager for the Analytics Engineer opening.")[1] == "hiring_manager"
    assert self_intro_role("Theo here, co-founder and CEO of Quillstone.")[1] == "leader"
    assert self_intro_role("Sam here, I recruit for our engineering teams.")[1] == "recruiter"


def test_person_next_to_title() -> None:
    t = "The final stage is meeting with our CTO Paweł Zieliński and a panel."
    assert person_near(t, t.index("CTO"), t.index("CTO") + 3) == "Paweł Zieliński"
