"""The service definition: a systemd user unit (Linux) or a launchd agent (macOS).

Both run ``<this interpreter> -m offerwatch.daemon.cli --config <config> run``, so the
service uses exactly the installation (venv, pipx, ...) that wrote it, restart it when
it fails, and leave a clean stop (exit 0 after SIGTERM) alone.

* systemd: ``$XDG_CONFIG_HOME/systemd/user/offerwatch.service``; ``Restart=on-failure``,
  logs to the journal (``journalctl --user -u offerwatch``), ``systemctl --user reload``
  sends SIGHUP (config reload).
* launchd: ``~/Library/LaunchAgents/<LABEL>.plist``; ``KeepAlive`` restarts it unless it
  exited cleanly, logs to ``~/Library/Logs/offerwatch/``.

Enabling calls ``systemctl --user`` or ``launchctl`` through a ``runner`` callable, so
tests (and ``--no-enable``) never touch the real user's service manager.

Example::

    spec = service_spec(platform="linux", config=Path("~/.config/offerwatch/config.toml"))
    print(spec.text)         # the unit file
    install(spec, runner=subprocess_runner)
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

UNIT_NAME = "offerwatch.service"
LABEL = "io.github.offerwatch"

#: Runs a command, returns (exit status, combined output). Injected so tests never call systemctl.
Runner = Callable[[Sequence[str]], tuple[int, str]]


def subprocess_runner(argv: Sequence[str]) -> tuple[int, str]:
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        return 127, f"{argv[0]}: command not found"
    except subprocess.TimeoutExpired:
        return 124, f"{' '.join(argv)}: timed out"
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def current_platform() -> str:
    if sys.platform == "darwin":
        return "macos"
    if sys.platform.startswith("linux"):
        return "linux"
    return sys.platform


@dataclass(frozen=True)
class ServiceSpec:
    platform: str  # linux | macos
    path: Path  # where the file goes
    text: str  # its content
    argv: tuple[str, ...]  # the command the service runs
    log_dir: Path | None = None  # launchd only


def command_line(python: str, config: Path | None, db: Path | None, log_file: Path | None = None) -> tuple[str, ...]:
    argv = [python, "-m", "offerwatch.daemon.cli"]
    if config is not None:
        argv += ["--config", str(config)]
    if db is not None:
        argv += ["--db", str(db)]
    argv.append("run")
    if log_file is not None:
        argv += ["--log-file", str(log_file)]
    return tuple(argv)


def _systemd_quote(arg: str) -> str:
    """One ExecStart= word: specifiers (%) and variables ($) escaped, quoted when needed."""
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if any(c in escaped for c in " \t\"'\\;") or not escaped:
        escaped = '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


def systemd_unit(argv: Sequence[str], *, environment: dict[str, str] | None = None) -> str:
    env_lines = "".join(
        f"Environment={_systemd_quote(f'{k}={v}')}\n" for k, v in sorted((environment or {}).items())
    )
    return f"""# offerwatch: written by `offerwatch service install`; remove with `offerwatch service uninstall`.
[Unit]
Description=offerwatch: recruiter signals from your mailbox and a daily digest
After=network-online.target

[Service]
Type=simple
ExecStart={' '.join(_systemd_quote(a) for a in argv)}
ExecReload=/bin/kill -HUP $MAINPID
# SIGTERM: the batch in progress is committed and the process exits 0 within 10 s
KillSignal=SIGTERM
TimeoutStopSec=20
Restart=on-failure
RestartSec=30
# 78 (EX_CONFIG): the config is invalid or has no account; restarting would not help
RestartPreventExitStatus=78
# logs: journalctl --user -u offerwatch
StandardOutput=journal
StandardError=journal
SyslogIdentifier=offerwatch
Environment=PYTHONUNBUFFERED=1
{env_lines}NoNewPrivileges=yes
UMask=0077

[Install]
WantedBy=default.target
"""


def launchd_plist(argv: Sequence[str], log_dir: Path, *, environment: dict[str, str] | None = None) -> str:
    env = {"PYTHONUNBUFFERED": "1", **(environment or {})}
    data = {
        "Label": LABEL,
        "ProgramArguments": list(argv),
        "RunAtLoad": True,
        # restarted when it fails or is killed; a clean exit (SIGTERM from launchctl) is left alone
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 30,
        "ProcessType": "Background",
        "StandardOutPath": str(log_dir / "offerwatch.out.log"),
        "StandardErrorPath": str(log_dir / "offerwatch.err.log"),
        "EnvironmentVariables": env,
        "Umask": 0o077,
    }
    return plistlib.dumps(data, sort_keys=False).decode("utf-8")


def unit_dir(home: Path | None = None) -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg else (home or Path.home()) / ".config"
    return base / "systemd" / "user"


def service_spec(
    *,
    platform: str | None = None,
    config: Path | None,
    db: Path | None = None,
    python: str | None = None,
    home: Path | None = None,
    environment: dict[str, str] | None = None,
) -> ServiceSpec:
    platform = platform or current_platform()
    python = python or sys.executable
    home = home or Path.home()
    if platform == "linux":
        argv = command_line(python, config, db)
        return ServiceSpec("linux", unit_dir(home) / UNIT_NAME, systemd_unit(argv, environment=environment), argv)
    if platform == "macos":
        log_dir = home / "Library" / "Logs" / "offerwatch"
        argv = command_line(python, config, db)
        return ServiceSpec("macos", home / "Library" / "LaunchAgents" / f"{LABEL}.plist",
                           launchd_plist(argv, log_dir, environment=environment), argv, log_dir)
    raise ValueError(f"no service manager support for {platform!r}: run `offerwatch run` from your own "
                     "start-up mechanism (it is a plain foreground process)")


def write(spec: ServiceSpec) -> None:
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    if spec.log_dir is not None:
        spec.log_dir.mkdir(parents=True, exist_ok=True)
    tmp = spec.path.with_name(spec.path.name + ".tmp")
    tmp.write_text(spec.text, encoding="utf-8")
    os.chmod(tmp, 0o644)
    os.replace(tmp, spec.path)


def enable_commands(spec: ServiceSpec) -> list[tuple[list[str], bool]]:
    """``(argv, must_succeed)`` in order; ``restart`` also picks up a changed unit of a running service."""
    if spec.platform == "linux":
        return [(["systemctl", "--user", "daemon-reload"], True), (["systemctl", "--user", "enable", UNIT_NAME], True),
                (["systemctl", "--user", "restart", UNIT_NAME], True)]
    domain = f"gui/{os.getuid()}"
    # bootout fails when the agent is not loaded yet: that is fine
    return [(["launchctl", "bootout", f"{domain}/{LABEL}"], False), (["launchctl", "bootstrap", domain, str(spec.path)], True)]


def disable_commands(spec: ServiceSpec) -> list[tuple[list[str], bool]]:
    if spec.platform == "linux":
        return [(["systemctl", "--user", "disable", "--now", UNIT_NAME], False),
                (["systemctl", "--user", "daemon-reload"], False)]
    return [(["launchctl", "bootout", f"gui/{os.getuid()}/{LABEL}"], False)]


def status_commands(spec: ServiceSpec) -> list[list[str]]:
    if spec.platform == "linux":
        return [["systemctl", "--user", "is-enabled", UNIT_NAME], ["systemctl", "--user", "is-active", UNIT_NAME]]
    return [["launchctl", "print", f"gui/{os.getuid()}/{LABEL}"]]
