/* A batch's progress over time: samples the console's progress endpoint while the page is open, drawn by Chart.js. */
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
  let samples = 0;
  const sample = async () => {
    let finished = false;
    try {
      const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
      if (res.ok) {
        const p = await res.json();
        chart.data.labels.push(new Date(p.at).toLocaleTimeString());
        series.forEach((s, i) => chart.data.datasets[i].data.push(p[s.key] ?? 0));
        chart.update();
        samples += 1;
        canvas.dataset.samples = String(samples);
        document.getElementById('samples').textContent = String(samples);
        for (const s of series) document.getElementById(s.id).textContent = String(p[s.key] ?? 0);
        for (const k of ['total', 'started', 'cancelled']) document.getElementById(k).textContent = String(p[k] ?? 0);
        document.getElementById('batch-status').textContent = String(p.status).toLowerCase();
        finished = p.status !== 'RUNNING';
      }
    } catch {
      // A missed sample is a gap in the chart, not an error worth a dialog.
    }
    // One last sample after the end keeps the final counts on the chart; then stop.
    if (!finished) setTimeout(sample, 2000);
  };
  sample();
}
