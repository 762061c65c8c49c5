"""The least-privilege Elasticsearch role koubei needs, as the security API takes it.

Everything koubei touches starts with the index prefix: the monthly ``<prefix>-posts-YYYY.MM``
indices and their ``<prefix>-posts`` alias, ``<prefix>-alerts``, ``<prefix>-accounts``,
``<prefix>-cascades`` and the index templates of the same names. The role grants exactly that:

* cluster ``monitor`` (``_cluster/health``, the start-up check),
  ``manage_index_templates`` (``koubei index setup`` installs and upgrades the templates) and
  the single action ``cluster:admin/analyze`` (the analyzer preflight runs ``_analyze``
  without an index, which Elasticsearch authorizes as that cluster action; the named
  privilege holding it is ``manage``, far too broad);
* on ``<prefix>-*`` only: ``create_index`` (a new month), ``write`` (bulk create/update),
  ``read`` (search, counts, spread and alert queries), ``view_index_metadata`` (template
  status reads mappings and aliases) and ``manage`` (aliases of new months, mapping upgrades in
  place, refresh, and ``koubei index reindex``'s write block and alias swap).

Nothing on other indices, no ``all``, no security or snapshot rights. One limit of
Elasticsearch: ``manage_index_templates`` cannot be restricted by template name, so this user
can also write templates outside the prefix (never indices or documents). ``koubei kibana import``
talks to Kibana, whose own role (``kibana_admin`` on the space) is the operator's business.
"""

from __future__ import annotations

from typing import Any

__all__ = ["least_privilege_role"]


def least_privilege_role(prefix: str) -> dict[str, Any]:
    """The role body for ``PUT _security/role/<name>`` (``es.security.put_role(**body)``)."""
    return {
        "cluster": ["monitor", "manage_index_templates", "cluster:admin/analyze"],
        "indices": [
            {
                "names": [f"{prefix}-*"],
                "privileges": ["create_index", "write", "read", "view_index_metadata", "manage"],
            }
        ],
    }
