"""HydroNet performance bench: one command (bench/run.sh) measures the targets of issue 11."""
