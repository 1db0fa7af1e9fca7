"""Print a command from README.md: the fenced block after ``<!-- command:NAME -->``.

CI runs the README's commands exactly as written, so they cannot rot.
"""

import re
import sys
from pathlib import Path

name = sys.argv[1]
text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
m = re.search(rf"<!-- command:{re.escape(name)} -->\s*```\w*\n(.*?)```", text, re.S)
if m is None:
    sys.exit(f"README.md has no command block named {name!r}")
print(m.group(1).strip())
