/* global document, window, echarts */
/**
 * Browser side of `npm run docs:pictures`: lays out one dashboard's panels on Grafana's 24-column
 * grid and draws each panel's query result with Apache ECharts (time series, bars), as a big
 * number (stat) or as a table. `window.renderDashboard(model)` returns once every chart is drawn.
 */
const COL = 1600 / 24;
const ROW = 34;
const DARK = { bg: '#111217', panel: '#181b1f', border: '#2c3235', text: '#ccccdc', muted: '#8e8e9e' };
const SEVERITY = { critical: '#f2495c', high: '#ff780a', medium: '#f2cc0c' };
const PALETTE = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9', '#fade2a', '#37872d', '#1f60c4'];

const fmtUnit = (unit, v) => {
  if (v === null || v === undefined) return '–';
  if (typeof v !== 'number') return String(v);
  if (unit === 'percentunit') return `${(v * 100).toFixed(v >= 0.995 || v === 0 ? 0 : 1)}%`;
  if (unit === 'bytes') {
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return `${v.toFixed(i ? 1 : 0)} ${u[i]}`;
  }
  if (unit === 'ms') return `${v.toFixed(v < 10 ? 1 : 0)} ms`;
  if (unit === 's') return `${v.toFixed(v < 10 ? 2 : 0)} s`;
  if (unit === 'dateTimeAsIso') return new Date(v).toISOString().replace('T', ' ').slice(0, 19);
  return Math.abs(v) >= 1e4 ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(Math.round(v * 1000) / 1000);
};

const cellText = (unit, type, v) => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  if (/^DateTime/.test(type)) return String(v).slice(0, 19);
  if (typeof v === 'number') return fmtUnit(unit === 'dateTimeAsIso' ? 'short' : unit, v);
  return String(v);
};

const toMs = (v) => (typeof v === 'number' ? v : Date.parse(`${String(v).replace(' ', 'T')}Z`));

/** Grafana's long-to-wide: one series per numeric column, split by the string columns' values. */
const seriesOf = (result) => {
  const cols = result.meta.map((m) => m.name);
  const isNum = result.meta.map((m) => /Int|Float|Decimal/.test(m.type));
  const labels = cols.map((_, i) => i).filter((i) => i > 0 && !isNum[i]);
  const values = cols.map((_, i) => i).filter((i) => i > 0 && isNum[i]);
  const series = new Map();
  for (const row of result.data) {
    const t = toMs(row[0]);
    const label = labels.map((i) => row[i]).join(' ');
    for (const i of values) {
      const name = label ? (values.length > 1 ? `${label} ${cols[i]}` : label) : cols[i];
      if (!series.has(name)) series.set(name, []);
      series.get(name).push([t, row[i]]);
    }
  }
  return [...series.entries()];
};

const drawTimeseries = (el, p, result) => {
  const all = seriesOf(result);
  const band = Object.entries(p.overrides).find(([, o]) => o['custom.fillBelowTo']);
  const bandUpper = band?.[0];
  const bandLower = band?.[1]['custom.fillBelowTo'];
  const bars = p.drawStyle === 'bars';
  const series = [];
  let color = 0;
  // A series with a unit of its own (an override) gets the right-hand axis.
  const unitOf = (name) => p.overrides[name]?.unit;
  const second = all.map(([n]) => n).find((n) => unitOf(n) && unitOf(n) !== p.unit);
  for (const [name, data] of all) {
    if (name === bandUpper || name === bandLower) continue;
    series.push({ name, type: bars ? 'bar' : 'line', data, showSymbol: false, stack: p.stacked ? 'all' : undefined,
      lineStyle: { width: 2 }, itemStyle: { color: SEVERITY[name] ?? PALETTE[color++ % PALETTE.length] }, barMaxWidth: 24,
      yAxisIndex: name === second ? 1 : 0, areaStyle: bars || bandUpper ? undefined : { opacity: 0.06 } });
  }
  if (bandUpper) {
    const lower = new Map((all.find(([n]) => n === bandLower)?.[1] ?? []).map(([t, v]) => [t, v]));
    const upper = all.find(([n]) => n === bandUpper)?.[1] ?? [];
    series.push({ name: 'baseline band', type: 'line', stack: 'band', data: upper.map(([t]) => [t, lower.get(t)]), showSymbol: false, lineStyle: { opacity: 0 }, silent: true, itemStyle: { color: '#8ab8ff' } });
    series.push({ name: 'baseline ±', type: 'line', stack: 'band', data: upper.map(([t, v]) => [t, v - (lower.get(t) ?? 0)]), showSymbol: false,
      lineStyle: { opacity: 0 }, areaStyle: { color: '#8ab8ff', opacity: 0.22 }, itemStyle: { color: '#8ab8ff' } });
  }
  const chart = echarts.init(el, null, { renderer: 'canvas' });
  chart.setOption({
    animation: false, backgroundColor: 'transparent', color: PALETTE,
    legend: { bottom: 0, textStyle: { color: DARK.text, fontSize: 11 }, data: series.filter((s) => s.name !== 'baseline band').map((s) => s.name), type: 'scroll' },
    xAxis: { type: 'time', axisLabel: { color: DARK.muted, fontSize: 10, hideOverlap: true }, axisLine: { lineStyle: { color: DARK.border } }, splitLine: { show: false } },
    yAxis: [
      { type: 'value', scale: Boolean(bandUpper), axisLabel: { color: DARK.muted, fontSize: 10, formatter: (v) => fmtUnit(p.unit, v) }, splitLine: { lineStyle: { color: DARK.border } } },
      ...(second ? [{ type: 'value', name: second, nameTextStyle: { color: DARK.muted }, axisLabel: { color: DARK.muted, fontSize: 10, formatter: (v) => fmtUnit(unitOf(second), v) }, splitLine: { show: false } }] : []),
    ],
    grid: { left: 58, right: second ? 58 : 14, top: 18, bottom: 44 },
    series,
  });
};

const drawBars = (el, p, result) => {
  const cols = result.meta.map((m) => m.name);
  const x = cols.indexOf(p.xField) >= 0 ? cols.indexOf(p.xField) : 0;
  const ys = cols.map((_, i) => i).filter((i) => i !== x && /Int|Float|Decimal/.test(result.meta[i].type));
  const rows = result.data.slice(0, 15).reverse();
  const chart = echarts.init(el, null, { renderer: 'canvas' });
  chart.setOption({
    animation: false, backgroundColor: 'transparent', color: PALETTE,
    grid: { left: 180, right: 40, top: 8, bottom: 24 },
    xAxis: { type: 'value', axisLabel: { color: DARK.muted, fontSize: 10, formatter: (v) => fmtUnit(p.unit, v) }, splitLine: { lineStyle: { color: DARK.border } } },
    yAxis: { type: 'category', data: rows.map((r) => String(r[x])), axisLabel: { color: DARK.text, fontSize: 11, width: 170, overflow: 'truncate' } },
    series: ys.map((i) => ({ name: cols[i], type: 'bar', data: rows.map((r) => r[i]), label: { show: true, position: 'right', color: DARK.text, fontSize: 10 }, barMaxWidth: 18 })),
  });
};

const drawStat = (el, p, result) => {
  const v = result.data[0]?.[0];
  const text = p.unit === 'dateTimeAsIso' && typeof v === 'number' ? fmtUnit(p.unit, v) : cellText(p.unit, result.meta[0]?.type ?? '', v);
  el.innerHTML = `<div class="stat">${text || '–'}</div>`;
};

const drawTable = (el, p, result) => {
  const cols = result.meta.map((m) => m.name);
  const units = Object.fromEntries(Object.entries(p.overrides).filter(([, o]) => o.unit).map(([n, o]) => [n, o.unit]));
  const rows = result.data.slice(0, 12);
  const head = cols.map((c) => `<th>${c}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((v, i) => `<td>${cellText(units[cols[i]] ?? 'short', result.meta[i].type, v).replace(/</g, '&lt;')}</td>`).join('')}</tr>`).join('');
  const more = result.data.length > rows.length ? `<div class="more">${result.data.length - rows.length} more rows</div>` : '';
  el.innerHTML = `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${more}`;
};

window.renderDashboard = (model) => {
  document.body.style.background = DARK.bg;
  const height = Math.max(...model.panels.map((p) => p.gridPos.y + p.gridPos.h)) * ROW + 80;
  const root = document.createElement('div');
  root.style.cssText = `position:relative;width:1600px;height:${height}px;font-family:Inter,"DejaVu Sans",sans-serif;color:${DARK.text}`;
  root.innerHTML = `<div class="dash-title">${model.title}<span>${model.subtitle}</span></div>`;
  document.body.appendChild(root);
  for (const p of model.panels) {
    const box = document.createElement('div');
    box.className = 'panel';
    box.style.cssText = `left:${p.gridPos.x * COL + 4}px;top:${p.gridPos.y * ROW + 52}px;width:${p.gridPos.w * COL - 8}px;height:${p.gridPos.h * ROW - 8}px`;
    box.innerHTML = `<div class="ptitle">${p.title}</div><div class="pbody"></div>`;
    root.appendChild(box);
    const body = box.querySelector('.pbody');
    const r = p.result;
    if (!r || r.data.length === 0) { body.innerHTML = '<div class="nodata">No data</div>'; continue; }
    if (p.type === 'timeseries') drawTimeseries(body, p, r);
    else if (p.type === 'barchart') drawBars(body, p, r);
    else if (p.type === 'stat') drawStat(body, p, r);
    else drawTable(body, p, r);
  }
  const style = document.createElement('style');
  style.textContent = `
    body{margin:0} .dash-title{position:absolute;left:8px;top:10px;font-size:20px;font-weight:600}
    .dash-title span{font-size:13px;font-weight:400;color:${DARK.muted};margin-left:14px}
    .panel{position:absolute;background:${DARK.panel};border:1px solid ${DARK.border};border-radius:3px;overflow:hidden;display:flex;flex-direction:column}
    .ptitle{font-size:13px;font-weight:500;padding:6px 8px 2px}
    .pbody{flex:1;position:relative;overflow:hidden;min-height:0}
    .stat{font-size:38px;font-weight:600;color:#73bf69;display:flex;align-items:center;justify-content:center;height:100%}
    .nodata{color:${DARK.muted};display:flex;align-items:center;justify-content:center;height:100%;font-size:13px}
    table{border-collapse:collapse;width:100%;font-size:11px} th{color:#5794f2;text-align:left;font-weight:500;padding:3px 6px;border-bottom:1px solid ${DARK.border};white-space:nowrap}
    td{padding:2px 6px;border-bottom:1px solid #22252b;white-space:nowrap;max-width:520px;overflow:hidden;text-overflow:ellipsis}
    .more{color:${DARK.muted};font-size:11px;padding:3px 6px}`;
  document.head.appendChild(style);
  return height;
};
