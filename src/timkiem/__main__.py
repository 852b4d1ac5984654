"""Run the command line interface: ``python -m timkiem``."""

from timkiem.cli import main

if __name__ == "__main__":
    main()
