"""`chaine directory ...`: import structures and suppliers from CSV files."""

import typer

app = typer.Typer(help="Public structures, their services, and suppliers.", no_args_is_help=True)
