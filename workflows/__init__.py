"""The lifecycles, declared as data. `odr.workflow` validates them and builds the machines."""

from workflows.dispute import DISPUTE

WORKFLOWS = {(DISPUTE["name"], DISPUTE["version"]): DISPUTE}
CURRENT = {DISPUTE["name"]: DISPUTE["version"]}
