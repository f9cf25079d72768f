"""Import every module of the package on its own: a broken import fails `make lint`."""

import importlib
import pkgutil
import sys
import traceback

import langchain_localkit

# modules whose runtime extra may legitimately be absent
OPTIONAL = {"gpt4all": "gpt4all", "ollama": "ollama"}


def main() -> int:
    failures = 0
    for mod in pkgutil.walk_packages(langchain_localkit.__path__, "langchain_localkit."):
        try:
            importlib.import_module(mod.name)
        except ImportError as e:
            missing = getattr(e, "name", "") or ""
            if any(missing.startswith(pkg) for pkg in OPTIONAL.values()):
                print(f"skipped {mod.name}: optional package {missing} not installed")
                continue
            failures += 1
            traceback.print_exc()
        except Exception:
            failures += 1
            traceback.print_exc()
    print("check_imports:", "ok" if not failures else f"{failures} module(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
