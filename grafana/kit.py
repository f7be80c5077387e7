"""Shared pieces of every dashboard: datasource uids, variables, selectors, panel factories."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import prometheus as prom_b
from grafana_foundation_sdk.builders import stat as stat_b
from grafana_foundation_sdk.builders import table as table_b
from grafana_foundation_sdk.builders import timeseries as ts_b
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common as common_m
from grafana_foundation_sdk.models import dashboard as dash_m
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from signals.catalogue import JOB, Signal, job_selector, user_traffic
from signals.target import Target

# Fixed datasource uids: provisioning (grafana/provisioning/datasources) uses the same ones.
PROMETHEUS_UID = "prometheus"
JAEGER_UID = "jaeger"
ALERTMANAGER_UID = "alertmanager"

# Every panel query filters on these two; `$instance` is a regex because "All" is `.*`.
# Series recorded per job (`job:*`, `slo:*`) have no instance: JOB_SEL alone.
JOB_SEL = job_selector(JOB)
SEL = f'{JOB_SEL}, instance=~"$instance"'
USERS = user_traffic(SEL)
"""User requests of the selected instances: probes left out, as in every alert."""

PROM_DS = dash_m.DataSourceRef(type_val="prometheus", uid="${datasource}")


def threshold_steps(*steps: tuple[float | None, str]) -> dash_b.ThresholdsConfig:
    """Absolute thresholds; the first step's value is None (minus infinity)."""
    return (
        dash_b.ThresholdsConfig()
        .mode(dash_m.ThresholdsMode.ABSOLUTE)
        .steps([dash_m.Threshold(value=value, color=color) for value, color in steps])
    )


_SEVERITY_COLOURS = {"warning": "orange", "critical": "red"}


def alert_lines(*signals: Signal) -> dash_b.ThresholdsConfig:
    """The alerts' own thresholds, coloured by severity, above a green base."""
    lines = sorted(
        (value, _SEVERITY_COLOURS[severity]) for signal in signals for severity, value in signal.thresholds.items()
    )
    return threshold_steps((None, "green"), *lines)


def runbook_links(*alerts: str) -> list[cogbuilder.Builder[dash_m.DashboardLink]]:
    """Panel links to the runbook section of each alert the panel draws the lines of."""
    return [
        dash_b.DashboardLink(f"Runbook: {alert}")
        .type(dash_m.DashboardLinkType.LINK)
        .url(Target().runbook_url(alert))
        .target_blank(True)
        for alert in alerts
    ]


def query(
    expr: str, legend: str = "", *, ref: str = "A", exemplar: bool = False, instant: bool = False
) -> prom_b.Dataquery:
    """A PromQL target on the dashboard's Prometheus datasource."""
    target = prom_b.Dataquery().expr(expr).ref_id(ref).datasource(PROM_DS)
    if legend:
        target = target.legend_format(legend)
    if exemplar:
        target = target.exemplar(True)
    return target.instant() if instant else target.range()


def timeseries(
    title: str,
    targets: list[cogbuilder.Builder[cogvariants.Dataquery]],
    *,
    unit: str,
    description: str,
    thresholds: dash_b.ThresholdsConfig | None = None,
    width: int = 12,
    height: int = 8,
    minimum: float | None = 0,
) -> ts_b.Panel:
    """A time series panel; thresholds, when given, are drawn as dashed lines."""
    panel = (
        ts_b.Panel()
        .title(title)
        .description(description)
        .datasource(PROM_DS)
        .targets(targets)
        .unit(unit)
        .span(width)
        .height(height)
        .line_width(1)
        .fill_opacity(10)
        .legend(
            common_b.VizLegendOptions()
            .display_mode(common_m.LegendDisplayMode.TABLE)
            .placement(common_m.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
    )
    if minimum is not None:
        panel = panel.min(minimum)
    if thresholds is not None:
        panel = panel.thresholds(thresholds).thresholds_style(
            common_b.GraphThresholdsStyleConfig().mode(common_m.GraphThresholdsStyleMode.DASHED)
        )
    return panel


def stat(
    title: str,
    target: prom_b.Dataquery,
    *,
    unit: str,
    description: str,
    thresholds: dash_b.ThresholdsConfig | None = None,
    mappings: list[dash_m.ValueMapping] | None = None,
    width: int = 6,
    height: int = 4,
) -> stat_b.Panel:
    """A single-value panel showing the last value."""
    panel = (
        stat_b.Panel()
        .title(title)
        .description(description)
        .datasource(PROM_DS)
        .targets([target])
        .unit(unit)
        .span(width)
        .height(height)
        .graph_mode(common_m.BigValueGraphMode.AREA)
        .color_mode(common_m.BigValueColorMode.BACKGROUND)
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    if thresholds is not None:
        panel = panel.thresholds(thresholds)
    if mappings:
        panel = panel.mappings(mappings)
    return panel


def table(title: str, target: prom_b.Dataquery, *, description: str, width: int = 24, height: int = 6) -> table_b.Panel:
    """A table of an instant query's series (one row per series)."""
    return (
        table_b.Panel()
        .title(title)
        .description(description)
        .datasource(PROM_DS)
        .targets([target.format(PromQueryFormat.TABLE)])
        .span(width)
        .height(height)
        .no_value("none")
        .show_header(True)
        .frame_index(0)
        .cell_height(common_m.TableCellHeight.SM)
        .align(common_m.FieldTextAlignment.AUTO)
        .inspect(False)
    )


def value_text(mapping: dict[str, tuple[str, str]]) -> dash_m.ValueMap:
    """Map raw values to (text, colour), e.g. {"1": ("active", "green")}."""
    return dash_m.ValueMap(
        options={
            key: dash_m.ValueMappingResult(text=text, color=color, index=i)
            for i, (key, (text, color)) in enumerate(mapping.items())
        }
    )


def variables() -> list[dash_b.DatasourceVariable | dash_b.QueryVariable]:
    """`datasource` (any Prometheus) and `instance` (multi-select, All = `.*`)."""
    datasource = (
        dash_b.DatasourceVariable("datasource")
        .label("Data source")
        .type("prometheus")
        .current(dash_m.VariableOption(selected=True, text="Prometheus", value=PROMETHEUS_UID))
    )
    instance = (
        dash_b.QueryVariable("instance")
        .label("Instance")
        .datasource(PROM_DS)
        .query(f"label_values(ai_diy_build_info{{{JOB_SEL}}}, instance)")
        .refresh(dash_m.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dash_m.VariableSort.ALPHABETICAL_ASC)
        .include_all(True)
        .all_value(".*")
        .multi(True)
        .current(dash_m.VariableOption(selected=True, text="All", value="$__all"))
    )
    return [datasource, instance]


def dashboard(uid: str, title: str, description: str) -> dash_b.Dashboard:
    """A dashboard with the shared variables, time range, refresh and cross-links."""
    board = (
        dash_b.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["ai-diy"])
        .timezone("browser")
        .time("now-1h", "now")
        .refresh("30s")
        .tooltip(dash_m.DashboardCursorSync.CROSSHAIR)
        .readonly()
        .link(
            dash_b.DashboardLink("AI-DIY")
            .type(dash_m.DashboardLinkType.DASHBOARDS)
            .tags(["ai-diy"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )
    for variable in variables():
        board = board.with_variable(variable)
    return board
