"""One module per `mtbrules` subcommand: HELP, add_arguments(parser), run(args) -> exit code."""
