// What a process costs, in words for the tree, the CLI and the status bar: compact parts such
// as `98 %`, `212 MB` (live) and `3.0 s CPU`, `312 MB peak` (at its end). Unknown figures are
// left out, never shown as 0. MB is 2^20 bytes, as in Task Manager and VS Code's Process Explorer.
import { english, type Localizer } from './l10n';
import type { ProcessInfo } from './types';

const MB = 2 ** 20;

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * MB) return `${(bytes / (1024 * MB)).toFixed(1)} GB`;
  if (bytes >= MB) return `${Math.round(bytes / MB)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

export function formatCpuPercent(percent: number): string {
  // A tenth under 10 %, so a mostly idle process does not read as 0 next to a busy one.
  return percent < 9.95 && percent > 0 ? `${percent.toFixed(1)} %` : `${Math.round(percent)} %`;
}

export function formatCpuSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

// Loose checks (!= null) below: a record from elsewhere (an older file, a hand-made one) may
// lack the fields altogether, which is unknown too.
type Figures = Pick<ProcessInfo, 'state' | 'cpuPercent' | 'rssBytes' | 'cpuSeconds' | 'peakRssBytes'>;

/** `98 %`, `212 MB` for a running process; `3.0 s CPU`, `312 MB peak` for one that ended. */
export function usageParts(p: Figures, t: Localizer = english): string[] {
  const parts: string[] = [];
  if (p.state === 'running') {
    if (p.cpuPercent != null) parts.push(formatCpuPercent(p.cpuPercent));
    if (p.rssBytes != null) parts.push(formatBytes(p.rssBytes));
    return parts;
  }
  if (p.cpuSeconds != null) parts.push(t('{0} CPU', formatCpuSeconds(p.cpuSeconds)));
  if (p.peakRssBytes != null) parts.push(t('{0} peak', formatBytes(p.peakRssBytes)));
  return parts;
}

export interface UsageTotals {
  /** Running processes with a live reading. */
  measured: number;
  cpuPercent: number;
  rssBytes: number;
  /** Ended processes with a measured total. */
  ended: number;
  cpuSeconds: number;
}

/** Sums over a run's processes: live figures of those running, measured totals of those ended. */
export function usageTotals(processes: Iterable<Figures>): UsageTotals {
  const totals: UsageTotals = { measured: 0, cpuPercent: 0, rssBytes: 0, ended: 0, cpuSeconds: 0 };
  for (const p of processes) {
    if (p.state === 'running' && (p.cpuPercent != null || p.rssBytes != null)) {
      totals.measured++;
      totals.cpuPercent += p.cpuPercent ?? 0;
      totals.rssBytes += p.rssBytes ?? 0;
    } else if (p.state !== 'running' && p.cpuSeconds != null) {
      totals.ended++;
      totals.cpuSeconds += p.cpuSeconds;
    }
  }
  return totals;
}

/** `212 % · 1.2 GB` while processes run (empty when none is measured). */
export function liveTotalsText(totals: UsageTotals): string {
  return totals.measured ? `${formatCpuPercent(totals.cpuPercent)} · ${formatBytes(totals.rssBytes)}` : '';
}
