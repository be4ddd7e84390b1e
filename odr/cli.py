"""`flask --app app odr ...`: every command that creates something takes `--json`.

With `--json` exactly one JSON object goes to standard output; the human line goes to standard
error. Secrets and tokens are shown once.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from odr.errors import ValidationError

odr_cli = AppGroup("odr", help="ODR administration.")


def _report(as_json: bool, data: dict[str, Any], human: str) -> None:
    click.echo(human, err=True)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))


def _fail(error: ValidationError) -> None:
    for field, message in error.errors.items():
        click.echo(f"error: {field}: {message}", err=True)
    sys.exit(2)


@odr_cli.command("create-user")
@click.option("--email", required=True)
@click.option("--role", required=True)
@click.option("--name", required=True)
@click.option("--country", required=True)
@click.option("--language", required=True)
@click.option("--languages", default="", help="Languages spoken, comma-separated (neutrals).")
@click.option("--password", default=None, help="Omit to generate one, printed once.")
@click.option("--partner", "partner_id", default=None, help="The partner agency (partner users).")
@click.option("--json", "as_json", is_flag=True)
def create_user_command(
    email: str,
    role: str,
    name: str,
    country: str,
    language: str,
    languages: str,
    password: str | None,
    partner_id: str | None,
    as_json: bool,
) -> None:
    """Create an account (its e-mail counts as verified)."""
    import secrets

    from odr.accounts.services import create_user

    if partner_id is not None:
        click.echo("error: --partner: partner agencies arrive with referrals (issue 7)", err=True)
        sys.exit(2)
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        user = create_user(
            email=email,
            name=name,
            role=role,
            country=country,
            language=language,
            password=password,
            languages=[x.strip() for x in languages.split(",") if x.strip()] or None,
        )
    except ValidationError as error:
        _fail(error)
    data = {"id": user.id, "email": user.email, "role": user.role}
    if generated:
        data["password"] = password
    human = f"created {user.role} {user.email} (id {user.id})"
    if generated and not as_json:
        human += f", password: {password}"
    _report(as_json, data, human)


token_cli = AppGroup("token", help="API tokens.")
odr_cli.add_command(token_cli)


@token_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", default="cli")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["read", "write", "partner"]),
    help="Repeat for several; without it, every scope the account's role may hold.",
)
@click.option("--expires-in-days", "days", type=int, default=90, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def token_create_command(
    email: str, name: str, scopes: tuple[str, ...], days: int, as_json: bool
) -> None:
    """Create an API token for a user; it is shown once."""
    from datetime import timedelta

    from odr import clock
    from odr.accounts.services import find_user_by_email
    from odr.accounts.tokens import create_token
    from odr.errors import EmailNotConfirmed

    user = find_user_by_email(email)
    if user is None:
        click.echo(f"error: --email: no account with the e-mail {email}", err=True)
        sys.exit(2)
    try:
        token, plain = create_token(
            user, name=name, scopes=scopes, expires_at=clock.now() + timedelta(days=days)
        )
    except EmailNotConfirmed:
        click.echo(f"error: --email: {email} has not confirmed its address yet", err=True)
        sys.exit(2)
    except ValidationError as error:
        _fail(error)
    data = {
        "id": token.id,
        "user_id": user.id,
        "token": plain,
        "scopes": token.scopes,
        "expires_at": token.expires_at.isoformat(),
    }
    summary = f"scopes {' '.join(token.scopes)}, expires {token.expires_at:%Y-%m-%d %H:%M} UTC"
    human = f"token for {user.email} ({summary})"
    _report(as_json, data, human if as_json else f"{human}: {plain}")


@odr_cli.command("seed-demo")
@click.option("--json", "as_json", is_flag=True)
def seed_demo_command(as_json: bool) -> None:
    """Demo accounts and disputes; does nothing when they exist already."""
    from odr.demo import seed_demo

    accounts = seed_demo()
    lines = [f"{a['role']:<13} {a['email']:<28} {a['password']}" for a in accounts]
    human = (
        "demo accounts (role, e-mail, password):\n" + "\n".join(lines)
        if accounts
        else ("demo data already present")
    )
    _report(as_json, {"accounts": accounts}, human)


@odr_cli.command("sweep")
def sweep_command() -> None:
    """Fire due timeouts, send reminders, deliver the outbox, once."""
    from odr.metrics import observe_sweep
    from odr.sweep import sweep

    result = observe_sweep(sweep)
    click.echo(json.dumps(result), err=True)


@odr_cli.command("worker")
@click.option("--workers", default=1, show_default=True)
@click.option("--no-periodic", is_flag=True, help="Do not run the periodic sweep here.")
def worker_command(workers: int, no_periodic: bool) -> None:
    """Run a Huey consumer (with the periodic sweep unless --no-periodic)."""
    from odr.worker import huey, serve

    serve(current_app._get_current_object())
    consumer = huey.create_consumer(workers=workers, periodic=not no_periodic, worker_type="thread")
    consumer.run()


@odr_cli.command("backup")
@click.argument("directory", type=click.Path(file_okay=False))
def backup_command(directory: str) -> None:
    """Write every table and every stored file into DIRECTORY, with a manifest of SHA-256s."""
    from odr.backup import BackupError, backup, describe

    try:
        manifest = backup(directory, echo=lambda line: click.echo(line, err=True))
    except BackupError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    for missing in manifest["missing_files"]:
        click.echo(
            f"warning: not in the backup: {missing['sha256']} ({missing['problem']})", err=True
        )
    click.echo(f"backed up {describe(manifest)} into {directory}", err=True)
    if manifest["missing_files"]:
        sys.exit(1)


@odr_cli.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def restore_command(directory: str) -> None:
    """Restore a backup from DIRECTORY into an empty database and storage, and verify it."""
    from odr.backup import BackupError, describe, restore

    try:
        manifest = restore(directory, echo=lambda line: click.echo(line, err=True))
    except BackupError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"restored {describe(manifest)} from {directory}", err=True)


audit_cli = AppGroup("audit", help="The event log.")
odr_cli.add_command(audit_cli)


@audit_cli.command("verify")
@click.option(
    "--heads",
    "heads_file",
    default=None,
    type=click.File("r", encoding="utf-8"),
    help="Heads exported earlier (`audit heads`): each must still be in today's chains.",
)
def audit_verify_command(heads_file: Any) -> None:
    """Check every case's chain and the security log; exit 1 naming each broken one."""
    from odr.accounts.audit import LOG_NAME, first_broken_security_event
    from odr.cases.events import verify_all_chains
    from odr.heads import HeadsFileError, check_heads, read_heads

    document = None
    if heads_file is not None:
        try:
            document = read_heads(heads_file.read())
        except HeadsFileError as error:
            click.echo(f"error: --heads: {error}", err=True)
            sys.exit(2)
    broken = verify_all_chains()
    problem = first_broken_security_event()
    if problem:
        broken.append((LOG_NAME, problem))
    if document is not None:
        broken += check_heads(document)
    for reference, problem in broken:
        click.echo(f"{reference}: {problem}", err=True)
    if broken:
        sys.exit(1)
    click.echo("every event chain is intact", err=True)
    if document is not None:
        click.echo(f"every head exported at {document['exported_at']} is in place", err=True)


@audit_cli.command("heads")
@click.option("--out", "out", default="-", type=click.Path(allow_dash=True, dir_okay=False))
def audit_heads_command(out: str) -> None:
    """Write every chain's event count and head, with a MAC, as JSON: keep it on another host."""
    from odr.heads import export_heads

    document = export_heads()
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    if out == "-":
        click.echo(text, nl=False)
    else:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(text)
    click.echo(
        f"exported the heads of {len(document['cases'])} cases and the security log "
        f"at {document['exported_at']}",
        err=True,
    )


@audit_cli.command("fingerprint")
@click.option("--email", default=None)
@click.option("--ip", default=None)
def audit_fingerprint_command(email: str | None, ip: str | None) -> None:
    """The fingerprint the security log keeps for an e-mail or IP address."""
    from odr.accounts.audit import email_fingerprint, ip_fingerprint

    if (email is None) == (ip is None):
        click.echo("error: --email: give either --email or --ip", err=True)
        sys.exit(2)
    click.echo(email_fingerprint(email) if email is not None else ip_fingerprint(ip))


workflows_cli = AppGroup("workflows", help="The lifecycle definitions.")
odr_cli.add_command(workflows_cli)


@workflows_cli.command("draw")
@click.option("--output", "-o", default="-", type=click.Path(allow_dash=True))
def workflows_draw_command(output: str) -> None:
    """Write the dispute lifecycle (diagram, states, actions) as Markdown: docs/lifecycle.md."""
    from flask_babel import force_locale

    from odr.lifecycle_doc import lifecycle_document
    from odr.workflow import get_workflow

    with force_locale("en"):
        text = lifecycle_document(get_workflow("dispute"))
    if output == "-":
        click.echo(text, nl=False)
    else:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)


partner_cli = AppGroup("partner", help="Partner ODR agencies abroad.")
odr_cli.add_command(partner_cli)


@partner_cli.command("add")
@click.option("--name", required=True)
@click.option("--countries", required=True, help="ISO 3166 codes, comma-separated: DE,AT.")
@click.option("--languages", required=True, help="Language codes, comma-separated: de,en.")
@click.option("--webhook-url", required=True)
@click.option("--email", required=True, help="The agency's first partner user.")
@click.option("--legal-basis", required=True, help="The agency's basis for receiving data.")
@click.option("--json", "as_json", is_flag=True)
def partner_add_command(
    name: str,
    countries: str,
    languages: str,
    webhook_url: str,
    email: str,
    legal_basis: str,
    as_json: bool,
) -> None:
    """Add an agency with a partner user, its API token and a signing secret (shown once)."""
    from odr.referrals.directory import add_partner

    try:
        partner, user, token, secret = add_partner(
            name=name,
            countries=countries.split(","),
            languages=languages.split(","),
            webhook_url=webhook_url,
            legal_basis=legal_basis,
            user_email=email,
        )
    except ValidationError as error:
        _fail(error)
    data = {"id": partner.public_id, "user_id": user.id, "token": token, "secret": secret}
    human = f"added partner {partner.name} ({partner.public_id})"
    if not as_json:
        human += f"\n  API token: {token}\n  signing secret: {secret}"
    _report(as_json, data, human)


@partner_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def partner_list_command(as_json: bool) -> None:
    """The partner directory."""
    from odr.referrals.directory import list_partners

    partners = list_partners()
    rows = [
        {
            "id": p.public_id,
            "name": p.name,
            "countries": p.countries,
            "languages": p.languages,
            "webhook_url": p.webhook_url,
            "active": p.active,
        }
        for p in partners
    ]
    lines = [
        f"{r['id']}  {r['name']}  {','.join(r['countries'])}  {','.join(r['languages'])}  "
        f"{'active' if r['active'] else 'disabled'}"
        for r in rows
    ]
    _report(as_json, {"partners": rows}, "\n".join(lines) or "no partner agencies")


@partner_cli.command("disable")
@click.argument("partner_id")
@click.option("--reason", required=True)
@click.option("--json", "as_json", is_flag=True)
def partner_disable_command(partner_id: str, reason: str, as_json: bool) -> None:
    """Stop sending referrals and webhooks to an agency."""
    from odr.errors import NotFound
    from odr.referrals.directory import disable_partner, find_partner

    try:
        partner = find_partner(partner_id)
    except NotFound as error:
        click.echo(f"error: partner: {error}", err=True)
        sys.exit(2)
    disable_partner(partner, reason)
    _report(as_json, {"id": partner.public_id, "active": False}, f"disabled {partner.name}")


@partner_cli.command("enable")
@click.argument("partner_id")
@click.option("--webhook-url", default=None, help="A new webhook address, if it changed.")
@click.option("--json", "as_json", is_flag=True)
def partner_enable_command(partner_id: str, webhook_url: str | None, as_json: bool) -> None:
    """Take a disabled agency back (after a 410, at a new webhook address)."""
    from odr.errors import NotFound, ValidationError
    from odr.referrals.directory import enable_partner, find_partner

    try:
        partner = find_partner(partner_id)
        enable_partner(partner, webhook_url)
    except NotFound as error:
        click.echo(f"error: partner: {error}", err=True)
        sys.exit(2)
    except ValidationError as error:
        for field, message in error.errors.items():
            click.echo(f"error: {field}: {message}", err=True)
        sys.exit(2)
    _report(as_json, {"id": partner.public_id, "active": True}, f"enabled {partner.name}")


@partner_cli.command("rotate-secret")
@click.argument("partner_id")
@click.option("--json", "as_json", is_flag=True)
def partner_rotate_secret_command(partner_id: str, as_json: bool) -> None:
    """A new signing secret; the old one keeps signing for 24 hours."""
    from odr.errors import NotFound
    from odr.referrals.directory import find_partner, rotate_secret

    try:
        partner = find_partner(partner_id)
    except NotFound as error:
        click.echo(f"error: partner: {error}", err=True)
        sys.exit(2)
    secret = rotate_secret(partner)
    human = f"new signing secret for {partner.name}" + ("" if as_json else f": {secret}")
    _report(as_json, {"id": partner.public_id, "secret": secret}, human)
