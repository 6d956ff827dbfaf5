/*
 * A batch's progress over its run, drawn by Chart.js from the timeline the batch records (so a reload, or a finished
 * batch, shows the whole run); while the batch runs, the console's progress endpoint is read every 2 seconds.
 * Times are UTC, as everywhere in the console.
 */
/* global document, fetch, Chart, setTimeout */
'use strict';

const canvas = document.getElementById('progress-chart');
if (canvas) {
  const url = canvas.dataset.progressUrl;
  const series = [
    { key: 'completed', label: 'Completed', color: '#2e7d32', id: 'completed' },
    { key: 'failed', label: 'Failed', color: '#c62828', id: 'failed' },
    { key: 'awaitingConsent', label: 'Awaiting consent', color: '#f9a825', id: 'awaiting' },
  ];
  const chart = new Chart(canvas, {
    type: 'line',
    data: {
      labels: [],
      datasets: series.map((s) => ({
        label: s.label,
        data: [],
        borderColor: s.color,
        backgroundColor: s.color,
        tension: 0.2,
      })),
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
  /** HH:MM:SS in UTC. */
  const utc = (at) => new Date(at).toISOString().slice(11, 19);
  const draw = (timeline) => {
    chart.data.labels = timeline.map((point) => utc(point.at));
    series.forEach((s, i) => (chart.data.datasets[i].data = timeline.map((point) => point[s.key] ?? 0)));
    chart.update();
    canvas.dataset.samples = String(timeline.length);
    document.getElementById('samples').textContent = String(timeline.length);
  };
  draw(JSON.parse(canvas.dataset.timeline || '[]'));

  const refresh = async () => {
    let finished = false;
    try {
      const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
      if (res.ok) {
        const p = await res.json();
        draw(p.timeline ?? []);
        for (const s of series) document.getElementById(s.id).textContent = String(p[s.key] ?? 0);
        for (const k of ['total', 'started', 'cancelled']) document.getElementById(k).textContent = String(p[k] ?? 0);
        document.getElementById('batch-status').textContent = String(p.status).toLowerCase();
        finished = p.status !== 'RUNNING';
      }
    } catch {
      // A missed refresh leaves the chart as it was, not an error worth a dialog.
    }
    if (!finished) setTimeout(refresh, 2000);
  };
  if (document.getElementById('batch-status').textContent === 'running') setTimeout(refresh, 2000);
}
