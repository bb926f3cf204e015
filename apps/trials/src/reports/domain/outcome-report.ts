import type { PresentTrial } from '../../trial/domain/trial';

/** Where the ledger sealed one event (the verified receipt: `GET /v1/events/{eventId}/receipt`). */
export interface SealedAt {
  leafIndex: number;
  blockHeight: number;
  treeSize: number;
}

export interface ReportReceipt {
  eventId: string;
  sealed: boolean;
  leafIndex?: number;
  blockHeight?: number;
  receipt: string;
}

export interface OutcomeReport {
  trialId: string;
  protocolId: string;
  protocolVersions: number;
  firstEnrolmentAt: string | null;
  registered: Array<{
    outcomeId: string;
    kind: string;
    title: string;
    registeredIn: number[];
    inCurrentVersion: boolean;
    reported: boolean;
    registration: ReportReceipt;
    report?: ReportReceipt;
  }>;
  unregistered: Array<{ outcomeId: string; reportedAt: string; protocolVersion: number; report: ReportReceipt }>;
  primaryChanges: Array<{
    fromVersion: number;
    toVersion: number;
    before: string[];
    after: string[];
    afterFirstEnrolment: boolean;
    amendment: ReportReceipt;
  }>;
  summary: { registered: number; reported: number; notReported: number; unregistered: number; primaryChanges: number };
}

function receipt(eventId: string, sealed: ReadonlyMap<string, SealedAt>): ReportReceipt {
  const at = sealed.get(eventId);
  return {
    eventId,
    sealed: at !== undefined,
    ...(at && { leafIndex: at.leafIndex, blockHeight: at.blockHeight }),
    receipt: `/v1/events/${eventId}/receipt`,
  };
}

/**
 * The outcome-switching report (after COMPare): for each outcome any protocol version registered, whether it was
 * reported; every outcome reported that no version registered; every change of the primary outcomes across
 * versions, before or after the first enrolment. Each line names the anchored event that proves it.
 */
export function outcomeReport(trial: PresentTrial, sealed: ReadonlyMap<string, SealedAt>): OutcomeReport {
  const current = trial.versions.at(-1);
  const reported = new Map(trial.reported.map((r) => [r.outcomeId, r]));
  const seen = new Map<string, OutcomeReport['registered'][number]>();
  for (const version of trial.versions)
    for (const outcome of version.outcomes) {
      const line = seen.get(outcome.outcomeId);
      if (line) {
        line.registeredIn.push(version.version);
        continue;
      }
      const report = reported.get(outcome.outcomeId);
      seen.set(outcome.outcomeId, {
        outcomeId: outcome.outcomeId,
        kind: outcome.kind,
        title: outcome.title,
        registeredIn: [version.version],
        inCurrentVersion: current?.outcomes.some((o) => o.outcomeId === outcome.outcomeId) ?? false,
        reported: report !== undefined,
        registration: receipt(version.eventId, sealed),
        ...(report && { report: receipt(report.eventId, sealed) }),
      });
    }
  const unregistered = trial.reported
    .filter((r) => !r.registered)
    .map((r) => ({
      outcomeId: r.outcomeId,
      reportedAt: r.at,
      protocolVersion: r.protocolVersion,
      report: receipt(r.eventId, sealed),
    }));
  const primaryChanges: OutcomeReport['primaryChanges'] = [];
  for (const [i, version] of trial.versions.entries()) {
    const previous = trial.versions[i - 1];
    if (!previous || !version.diff?.primaryChanged) continue;
    const primaries = (v: typeof version) => v.outcomes.filter((o) => o.kind === 'primary').map((o) => o.outcomeId);
    primaryChanges.push({
      fromVersion: previous.version,
      toVersion: version.version,
      before: primaries(previous),
      after: primaries(version),
      afterFirstEnrolment: version.diff.afterFirstEnrolment,
      amendment: receipt(version.eventId, sealed),
    });
  }
  const registered = [...seen.values()];
  return {
    trialId: trial.trialId,
    protocolId: trial.registration.protocolId,
    protocolVersions: trial.versions.length,
    firstEnrolmentAt: trial.firstEnrolmentAt ?? null,
    registered,
    unregistered,
    primaryChanges,
    summary: {
      registered: registered.length,
      reported: registered.filter((line) => line.reported).length,
      notReported: registered.filter((line) => !line.reported).length,
      unregistered: unregistered.length,
      primaryChanges: primaryChanges.length,
    },
  };
}

const escape = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

function proof(r: ReportReceipt | undefined): string {
  if (!r) return '—';
  const where = r.sealed ? `leaf ${r.leafIndex}, block ${r.blockHeight}` : 'not sealed yet';
  return `<a href="${escape(r.receipt)}">${escape(r.eventId.slice(0, 8))}</a> (${where})`;
}

/** The same report as a readable page (no script, no external resource). */
export function renderOutcomeReportHtml(report: OutcomeReport): string {
  const rows = report.registered
    .map(
      (line) =>
        `<tr class="${line.reported ? 'ok' : 'missing'}"><td>${escape(line.outcomeId)}</td><td>${escape(line.kind)}</td><td>${escape(line.title)}</td><td>${line.registeredIn.join(', ')}</td><td>${line.reported ? 'reported' : 'NOT REPORTED'}</td><td>${proof(line.registration)}</td><td>${proof(line.report)}</td></tr>`,
    )
    .join('\n');
  const extra = report.unregistered
    .map(
      (line) =>
        `<tr class="flag"><td>${escape(line.outcomeId)}</td><td>v${line.protocolVersion}</td><td>${escape(line.reportedAt)}</td><td>${proof(line.report)}</td></tr>`,
    )
    .join('\n');
  const switches = report.primaryChanges
    .map(
      (c) =>
        `<tr class="flag"><td>v${c.fromVersion} → v${c.toVersion}</td><td>${escape(c.before.join(', '))}</td><td>${escape(c.after.join(', '))}</td><td>${c.afterFirstEnrolment ? 'AFTER first enrolment' : 'before first enrolment'}</td><td>${proof(c.amendment)}</td></tr>`,
    )
    .join('\n');
  const s = report.summary;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outcome report: ${escape(report.protocolId)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;width:100%;margin-bottom:2rem}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}.missing td,.flag td{background:#fde8e8}.ok td{background:#eefbea}</style>
</head><body>
<h1>Outcome-switching report: ${escape(report.protocolId)}</h1>
<p>${report.protocolVersions} protocol version(s); first enrolment: ${escape(report.firstEnrolmentAt ?? 'none yet')}.
${s.registered} registered outcome(s), ${s.reported} reported, ${s.notReported} not reported; ${s.unregistered} reported but never registered; ${s.primaryChanges} change(s) of primary outcome.</p>
<h2>Registered outcomes</h2>
<table><thead><tr><th>outcome</th><th>kind</th><th>title</th><th>registered in</th><th>status</th><th>registration (ledger)</th><th>first result (ledger)</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Reported but never registered</h2>
<table><thead><tr><th>outcome</th><th>protocol</th><th>first reported</th><th>proof</th></tr></thead><tbody>
${extra || '<tr><td colspan="4">none</td></tr>'}
</tbody></table>
<h2>Changes of primary outcome</h2>
<table><thead><tr><th>versions</th><th>before</th><th>after</th><th>when</th><th>proof</th></tr></thead><tbody>
${switches || '<tr><td colspan="5">none</td></tr>'}
</tbody></table>
</body></html>
`;
}
