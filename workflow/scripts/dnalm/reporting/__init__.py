"""Everything report.html shows besides the stage figures.

- :mod:`~dnalm.reporting.tables`: dataset cards side by side, software versions, resolved config;
- :mod:`~dnalm.reporting.findings`: the front page's headline table and key findings, computed
  from the result files (:func:`collect_overview`);
- :mod:`~dnalm.reporting.render`: the front page as RST / HTML / markdown (:func:`write_overview`);
- :mod:`~dnalm.reporting.sections`: report categories in the paper's figure order.

``python -m dnalm.reporting readme-table results/`` prints the README's "What the demo finds"
table and findings from a finished run.
"""

from dnalm.reporting.findings import (
    Estimate,
    Finding,
    Overview,
    OverviewInputs,
    collect_overview,
)
from dnalm.reporting.render import (
    overview_html,
    overview_markdown,
    overview_rst,
    write_overview,
)
from dnalm.reporting.sections import (
    CATEGORIES,
    SECTION_OF_KIND,
    category,
    section_of,
    task_sections,
)
from dnalm.reporting.tables import (
    REPORTED_PACKAGES,
    dataset_cards_table,
    dump_config,
    software_versions,
)

__all__ = [
    "CATEGORIES", "REPORTED_PACKAGES", "SECTION_OF_KIND", "Estimate", "Finding", "Overview",
    "OverviewInputs", "category", "collect_overview", "dataset_cards_table", "dump_config",
    "overview_html", "overview_markdown", "overview_rst", "section_of", "software_versions", "task_sections",
    "write_overview",
]
