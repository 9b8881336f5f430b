"""Click's and Typer's own words in the terminal in Swedish: "Användning:", "Flaggor", "Visa den
här hjälpen och avsluta.", "Fel: …", as the rest of Insyn speaks.

Click and Typer look their messages up through `gettext` by the English text; neither ships a
Swedish catalogue, and gettext picks a catalogue by the user's locale, which on a server is
usually C. So the lookup each module imported is replaced by one in the table below (install,
called before the commands are made), and Typer's panel titles, which it looks up once when it
is imported, are set again. Messages not in the table stay in English.
"""

from __future__ import annotations

import importlib
import re

SWEDISH = {
    "Usage:": "Användning:",
    "Options": "Flaggor",
    "Arguments": "Argument",
    "Commands": "Kommandon",
    "Error": "Fel",
    "Aborted!": "Avbrutet.",
    "Aborted.": "Avbrutet.",
    "Show this message and exit.": "Visa den här hjälpen och avsluta.",
    "Show the version and exit.": "Visa versionen och avsluta.",
    "Error: {message}": "Fel: {message}",
    "Try '{command} {option}' for help.": "Skriv '{command} {option}' för hjälp.",
    "Try [blue]'{command_path} {help_option}'[/] for help.": "Skriv [blue]'{command_path} {help_option}'[/] för hjälp.",
    "Invalid value: {message}": "Ogiltigt värde: {message}",
    "Invalid value for {param_hint}: {message}": "Ogiltigt värde för {param_hint}: {message}",
    "Missing argument": "Argument saknas",
    "Missing option": "Flagga saknas",
    "Missing parameter": "Parameter saknas",
    "Missing {param_type}": "{param_type} saknas",
    "Missing parameter: {param_name}": "Parameter saknas: {param_name}",
    "Missing command.": "Kommando saknas.",
    "No such option {name!r}.": "Flaggan {name!r} finns inte.",
    "No such command {name!r}.": "Kommandot {name!r} finns inte.",
    "Could not open file {filename!r}: {message}": "Kunde inte öppna filen {filename!r}: {message}",
    "{value!r} is not a valid {number_type}.": "{value!r} är inte ett giltigt tal ({number_type}).",
    "{value} is not in the range {range}.": "{value} ligger inte inom {range}.",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "{value!r} är inte ja eller nej. Giltiga värden: {states}",
    "{name} {filename!r} does not exist.": "{name} {filename!r} finns inte.",
    "{name} {filename!r} is a file.": "{name} {filename!r} är en fil.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} är en katalog.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} går inte att läsa.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} går inte att skriva till.",
    "file": "Filen",
    "directory": "Katalogen",
    "path": "Sökvägen",
    "required": "krävs",
    "[required]": "[krävs]",
    "default: {default}": "standard: {default}",
    "[default: {}]": "[standard: {}]",
    "env var: {var}": "miljövariabel: {var}",
    "[env var: {}]": "[miljövariabel: {}]",
    "Do you want to continue?": "Vill du fortsätta?",
    "Repeat for confirmation": "Upprepa för att bekräfta",
    "Error: The two entered values do not match.": "Fel: de två värdena är inte lika.",
}
# ngettext's messages, by their singular: (singular, plural) in Swedish.
SWEDISH_PLURALS = {
    "Got unexpected extra argument ({args})": ("Oväntat extra argument ({args})", "Oväntade extra argument ({args})"),
    "Option {name!r} requires an argument.": ("Flaggan {name!r} kräver ett värde.",
                                               "Flaggan {name!r} kräver {nargs} värden."),
    "{value!r} is not {choice}.": ("{value!r} är inte {choice}.", "{value!r} är inte ett av {choices}."),
    "Did you mean {possibility}?": ("Menade du {possibility}?", "(Möjliga flaggor: {possibilities})"),
}
# Recent Typer carries its own copy of Click (typer._click); older Typer uses Click itself.
MODULES = tuple(f"{click}.{module}" for click in ("typer._click", "click")
                for module in ("core", "decorators", "exceptions", "types", "parser", "formatting", "termui")
                ) + ("typer.core", "typer.main", "typer.rich_utils")
PANEL_TITLES = {"ARGUMENTS_PANEL_TITLE": "Arguments", "OPTIONS_PANEL_TITLE": "Options",
                "COMMANDS_PANEL_TITLE": "Commands", "ERRORS_PANEL_TITLE": "Error", "ABORTED_TEXT": "Aborted."}


# What Typer's copy of Click (and Pydantic, which Typer's newer versions check values with) write
# without gettext, by pattern: each is rewritten wherever it occurs in a message or a line shown.
WRITTEN_IN = (
    (r"^Error: ", "Fel: "),
    (r"^Try '(.+)' for help\.", r"Skriv '\1' för hjälp."),
    (r"No such option: (\S+)", r"Flaggan \1 finns inte."),
    (r"\(Possible options: (.+)\)", r"(Möjliga flaggor: \1)"),
    (r"Did you mean (.+)\?", r"Menade du \1?"),
    (r"Missing argument (.+)\.", r"Argument saknas: \1."),
    (r"Missing option (.+)\.", r"Flagga saknas: \1."),
    (r"Missing parameter:? (.+?)\.?$", r"Parameter saknas: \1."),
    (r"Invalid value for (.+?): ", r"Ogiltigt värde för \1: "),
    (r"Invalid value: ", "Ogiltigt värde: "),
    (r"Option (.+) requires an argument\.", r"Flaggan \1 kräver ett värde."),
    (r"Option (.+) requires (\d+) arguments\.", r"Flaggan \1 kräver \2 värden."),
    (r"\[OPTIONS\]", "[FLAGGOR]"),
    (r"COMMAND \[ARGS\]\.\.\.", "KOMMANDO [ARGUMENT]..."),
    (r"Got unexpected extra arguments? ?(?:\(s\))? \((.+)\)", r"Oväntade argument (\1)"),
    (r"Value error, ", ""),
    (r"Input should be a valid integer.*", "ange ett heltal."),
    (r"Input should be a valid number.*", "ange ett tal."),
    (r"Input should be a valid (date|datetime).*", "ange ett datum (ÅÅÅÅ-MM-DD)."),
    (r"Input should be a valid boolean.*", "ange ja eller nej."),
    (r"(.+) is not one of (.+)\.", r"\1 är inte ett av \2."),
    (r"Value (.+) is not a valid (.+)\.", r"\1 är inte ett giltigt värde (\2)."),
    (r"\b(?:File|Directory|Path) ('.+') does not exist\.", r"\1 finns inte."),
)


def swedish(message: str) -> str:
    return SWEDISH.get(message, message)


def swedish_written(text: str) -> str:
    """`text` with every pattern of WRITTEN_IN rewritten, line by line."""
    lines = []
    for line in text.split("\n"):
        for pattern, replacement in WRITTEN_IN:
            line = re.sub(pattern, replacement, line)
        lines.append(line)
    return "\n".join(lines)


def swedish_plural(singular: str, plural: str, n: int) -> str:
    found = SWEDISH_PLURALS.get(singular)
    if found is None:
        return singular if n == 1 else plural
    return found[0] if n == 1 else found[1]


def install() -> None:
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "_"):
            module._ = swedish  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = swedish_plural  # type: ignore[attr-defined]
    rich_utils = importlib.import_module("typer.rich_utils")
    for constant, english in PANEL_TITLES.items():
        setattr(rich_utils, constant, swedish(english))
    _translate_written_in(_first("typer._click.core", "click.core"),
                          _first("typer._click.formatting", "click.formatting"))
    _translate_errors(_first("typer._click.exceptions", "click.exceptions"))


def _first(*names: str):
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError(names[0])


def _translate_written_in(core, formatting) -> None:
    """Typer's copy of Click writes two texts every help page shows without gettext: the help
    option's and the usage line's prefix."""
    made = core.Command.get_help_option
    write_usage = formatting.HelpFormatter.write_usage
    if getattr(made, "swedish", False):
        return

    def get_help_option(self, ctx):
        option = made(self, ctx)
        if option is not None:
            option.help = swedish("Show this message and exit.")
        return option

    def swedish_usage(self, prog, args="", prefix=None):
        return write_usage(self, prog, swedish_written(args), f"{swedish('Usage:')} " if prefix is None else prefix)

    get_help_option.swedish = True  # type: ignore[attr-defined]
    core.Command.get_help_option = get_help_option
    formatting.HelpFormatter.write_usage = swedish_usage


def _translate_errors(exceptions) -> None:
    """The error lines Click writes itself ("Error: …", "Try … for help.") and the messages its
    exceptions make (shown plain, or in Typer's panel), through swedish_written."""
    if getattr(exceptions.echo, "swedish", False):
        return
    echo = exceptions.echo

    def swedish_echo(message=None, *args, **kwargs):
        return echo(swedish_written(message) if isinstance(message, str) else message, *args, **kwargs)

    swedish_echo.swedish = True  # type: ignore[attr-defined]
    exceptions.echo = swedish_echo
    for exception in vars(exceptions).values():
        if isinstance(exception, type) and "format_message" in vars(exception):
            made = vars(exception)["format_message"]

            def format_message(self, made=made):
                return swedish_written(made(self))

            exception.format_message = format_message  # type: ignore[attr-defined]
