/**
 * Entry of the training dashboard webview (dist/webview/dashboard.js; its CSS, uPlot's included, in dashboard.css).
 * Keeps only the smoothing weight in the webview state: the run itself is replayed by the extension on `ready`.
 */
import 'uplot/dist/uPlot.min.css';
import '../app.css';
import { mount } from 'svelte';
import Dashboard from './Dashboard.svelte';
import { channel } from '../dom/channel';
import type { FromDashboard } from '../../../src/shared/dashboardProtocol';

const host = channel<FromDashboard>();
const saved = host.getState() as { smoothing?: unknown } | undefined;
const smoothing = typeof saved?.smoothing === 'number' && saved.smoothing >= 0 && saved.smoothing < 1 ? saved.smoothing : 0.6;
mount(Dashboard, { target: document.getElementById('app') ?? document.body, props: { host, initialSmoothing: smoothing } });
