// Charts with the vendored Chart.js (UMD build, loaded on first use).

const CHART_SRC = "/static/vendor/chartjs/chart.umd.min.js";
const PALETTE = ["#1769aa", "#e07b00", "#2e7d32", "#8e24aa", "#c62828", "#00838f"];
let loading = null;

/** The Chart constructor, loading the library once. */
export function loadChart() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = CHART_SRC;
      script.addEventListener("load", () => resolve(window.Chart));
      script.addEventListener("error", () => reject(new Error("chart library failed to load")));
      document.head.append(script);
    });
  }
  return loading;
}

const charts = new WeakMap();

/**
 * Draw (or redraw) a chart on `canvas`.
 * kind: "line" | "bar"; labels: x values; series: [{label, data, axis?, color? (#rrggbb), type?}]; also yTitle, y2Title, xTitle,
 * stepped (status series) and fromZero (start the y axis at 0).
 */
export async function drawChart(canvas, { kind = "line", labels, series, yTitle, y2Title, xTitle, stepped = false, fromZero = false }) {
  const Chart = await loadChart();
  const previous = charts.get(canvas);
  if (previous) previous.destroy();
  const datasets = series.map((s, i) => ({
    label: s.label,
    data: s.data,
    yAxisID: s.axis === "y2" ? "y2" : "y",
    borderColor: s.color || PALETTE[i % PALETTE.length],
    backgroundColor: (s.color || PALETTE[i % PALETTE.length]) + (kind === "bar" && s.type !== "line" ? "cc" : "33"),
    borderWidth: 2,
    pointRadius: labels.length > 60 || s.type === "line" ? 0 : 2,
    skipNull: true,
    grouped: s.grouped !== false,
    tension: 0.2,
    stepped,
    type: s.type || kind,
  }));
  const scales = {
    x: { title: { display: Boolean(xTitle), text: xTitle }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
    y: { beginAtZero: kind === "bar" || fromZero, title: { display: Boolean(yTitle), text: yTitle } },
  };
  if (series.some((s) => s.axis === "y2")) {
    scales.y2 = { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: Boolean(y2Title), text: y2Title } };
  }
  const chart = new Chart(canvas, {
    type: kind,
    data: { labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { display: series.length > 1, position: "bottom" } },
      scales,
    },
  });
  charts.set(canvas, chart);
  return chart;
}
