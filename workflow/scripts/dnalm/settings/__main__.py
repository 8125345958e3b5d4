"""``python -m dnalm.settings --schema`` prints the schema; ``CONFIG.yaml ...`` validates files."""

from __future__ import annotations

import sys
from typing import Any

from dnalm.settings import ConfigError, deep_update, json_schema, load_config, read_config_file


def main(argv: list[str] | None = None) -> int:
    """``python -m dnalm.settings --schema`` prints the schema; ``CONFIG.yaml ...`` validates files."""
    import yaml

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--schema"]:
        header = (
            "# Generated from dnalm.settings (python -m dnalm.settings --schema); do not edit.\n"
            "# Every key, type, default and description of the workflow config.\n"
        )
        sys.stdout.write(header + yaml.safe_dump(json_schema(), sort_keys=False, width=100))
        return 0
    merged: dict[str, Any] = {}
    try:
        for path in argv:
            deep_update(merged, read_config_file(path))  # its errors name the file and line
        try:
            load_config(merged)
        except ConfigError as e:
            raise ConfigError(f"{' '.join(argv)}: {e}") from None
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 2
    print(f"ok: {' '.join(argv)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
