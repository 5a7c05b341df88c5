"""Self-contained HTML reports (plots inlined as PNG data URIs) and the terminal summary."""

from eval.report._html import Section, figure_to_data_uri, render_page, table_html
from eval.report.evaluation import evaluation_report

__all__ = ["Section", "evaluation_report", "figure_to_data_uri", "render_page", "table_html"]
