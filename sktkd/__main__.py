"""Command line: ``python -m sktkd demo`` (also the ``sktkd`` console script)."""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="sktkd",
        description="Knowledge distillation and transfer learning as scikit-learn classifiers.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"sktkd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="distil a random forest and transfer a network, on load_digits",
        description=(
            "Fit a random forest on load_digits, a student network alone and one distilled "
            "from the forest, and compare accuracy, agreement with the forest and prediction "
            "speed on one thread; then train a network to read digits and adapt it to tell "
            "digits of 5 or more from 10 labels per class, against training from scratch. "
            "About 12 seconds on two cores (measured with `time python -m sktkd demo`)."
        ),
    )
    demo.add_argument("--plot", metavar="FILE.png", help="also save a figure of the results")
    demo.add_argument("--seed", type=int, default=0, help="seed of splits and models (0)")
    demo.add_argument(
        "--quick", action="store_true", help="fewer rows and epochs: about 6 seconds, rough numbers"
    )
    args = parser.parse_args(argv)

    from ._demo import format_results, plot_results, run_demo

    if args.plot:  # fail before the work, not after it
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error('--plot needs matplotlib: pip install "sktkd[plot]"')
        folder = os.path.dirname(os.path.abspath(args.plot))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            parser.error(f"--plot {args.plot}: cannot write into the folder {folder}")
        from matplotlib.figure import Figure

        extension = os.path.splitext(args.plot)[1].lstrip(".").lower()
        formats = Figure().canvas.get_supported_filetypes()
        if extension not in formats:
            parser.error(
                f"--plot {args.plot}: not an image format matplotlib writes ({', '.join(formats)})"
            )
    results = run_demo(seed=args.seed, quick=args.quick, out=sys.stdout)
    print()
    print(format_results(results))
    if args.plot:
        print(f"\nfigure saved to {plot_results(results, args.plot)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
