// Outcome analytics (issue 16): which fixes work, in this account, over the
// last 7, 30 or 90 days — the totals, then tables by template and version,
// origin, language and title cluster (GET /api/v1/analytics/outcomes).
import { useId, useState } from 'react'
import * as api from '../api/client'
import type { DurationStats, OutcomeAnalytics, OutcomeDimension, OutcomeGroup, ScriptTemplate } from '../api/types'
import { LoadFailed, Loading } from '../components/ErrorNote'
import { describeRate } from '../components/SuccessRateNote'
import { useLoader } from '../lib/hooks'
import { LANGUAGE_LABEL } from '../lib/words'

const WINDOWS = [7, 30, 90] as const

const TABLES: { dimension: OutcomeDimension; caption: string; keyHeader: string }[] = [
  { dimension: 'template_version', caption: 'By template and version', keyHeader: 'Template, version' },
  { dimension: 'origin', caption: 'By origin of the script', keyHeader: 'Origin' },
  { dimension: 'language', caption: 'By language', keyHeader: 'Language' },
  { dimension: 'title_cluster', caption: 'By fix title (clustered)', keyHeader: 'Title cluster' },
]

const ORIGIN_LABEL: Record<string, string> = {
  ai_draft: 'AI draft, as drafted',
  ai_draft_edited: 'AI draft, edited',
  template: 'Template',
  hand_written: 'Written by hand',
  unknown: 'Not recorded',
}

/** 95 s → "1 min 35 s"; hours and days for longer spans. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—'
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`
  if (s < 86_400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`
  return `${(s / 86_400).toFixed(1)} days`
}

function durations(stats: DurationStats): string {
  if (!stats.samples) return 'no runs to measure'
  return `p50 ${formatDuration(stats.p50_seconds)}, p90 ${formatDuration(stats.p90_seconds)} (${stats.samples} run${stats.samples === 1 ? '' : 's'})`
}

function rateCell(group: OutcomeGroup): string {
  const c = group.counts
  if (!c.decided) return '—'
  return `${Math.round((c.success_rate ?? c.success / c.decided) * 100)}% (${c.success} of ${c.decided})`
}

function groupName(dimension: OutcomeDimension, group: OutcomeGroup, templates: Map<string, string>): string {
  if (group.key === 'none' || group.key === 'unknown') {
    return dimension === 'template_version' ? 'No template' : 'Not recorded'
  }
  if (dimension === 'template_version' && group.template_id) {
    const name = templates.get(group.template_id) ?? group.template_id
    return `${name}, version ${group.template_version ?? '?'}`
  }
  if (dimension === 'origin') return ORIGIN_LABEL[group.key] ?? group.key
  if (dimension === 'language') return (LANGUAGE_LABEL as Record<string, string>)[group.key] ?? group.key
  return group.key
}

function GroupTable({
  days,
  dimension,
  caption,
  keyHeader,
  templates,
}: {
  days: number
  dimension: OutcomeDimension
  caption: string
  keyHeader: string
  templates: Map<string, string>
}) {
  const report = useLoader((signal) => api.getOutcomeAnalytics(days, dimension, signal), [days, dimension])
  if (report.loading && !report.data) return <Loading what={caption.toLowerCase()} />
  if (report.error) return <LoadFailed error={report.error} onRetry={report.reload} what={caption.toLowerCase()} />
  const groups = report.data?.groups ?? []
  return (
    <div className="table-wrap" role="region" aria-label={caption} tabIndex={0}>
      <table className="analytics-table" data-testid={`analytics-${dimension}`}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{keyHeader}</th>
            <th scope="col">Runs</th>
            <th scope="col">Success</th>
            <th scope="col">Failed</th>
            <th scope="col">Partial</th>
            <th scope="col">Never applied</th>
            <th scope="col">No outcome yet</th>
            <th scope="col">Success rate</th>
            <th scope="col">Proposal → run, p50 / p90</th>
          </tr>
        </thead>
        <tbody>
          {groups.length ? (
            groups.map((group) => (
              <tr key={group.key}>
                <th scope="row">{groupName(dimension, group, templates)}</th>
                <td>{group.counts.runs}</td>
                <td>{group.counts.success}</td>
                <td>{group.counts.failed}</td>
                <td>{group.counts.partial}</td>
                <td>{group.counts.never_applied}</td>
                <td>{group.counts.pending}</td>
                <td>{rateCell(group)}</td>
                <td>
                  {group.proposal_to_run.samples
                    ? `${formatDuration(group.proposal_to_run.p50_seconds)} / ${formatDuration(group.proposal_to_run.p90_seconds)}`
                    : '—'}
                </td>
              </tr>
            ))
          ) : (
            <tr>
              <td colSpan={9}>No runs declared in this window.</td>
            </tr>
          )}
        </tbody>
      </table>
      {report.data?.groups_truncated ? <p className="hint">Only the 100 largest groups are shown.</p> : null}
    </div>
  )
}

function Totals({ data }: { data: OutcomeAnalytics }) {
  const t = data.totals
  const rows: [string, string][] = [
    ['Runs declared', String(t.runs)],
    ['Success', String(t.success)],
    ['Failed', String(t.failed)],
    ['Partial', String(t.partial)],
    ['Never applied', String(t.never_applied)],
    ['No outcome yet', String(t.pending)],
    ['Success rate', t.decided ? describeRate(t) : 'No outcome recorded yet'],
    ['Proposal → run', durations(data.proposal_to_run)],
    ['Run → outcome', durations(data.run_to_outcome)],
  ]
  return (
    <dl className="analytics-totals" data-testid="analytics-totals">
      {rows.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  )
}

export function AnalyticsPage() {
  const ids = useId()
  const [days, setDays] = useState<number>(30)
  const totals = useLoader((signal) => api.getOutcomeAnalytics(days, null, signal), [days])
  // Template names live in the script builder: joined here by id.
  const templates = useLoader(
    (signal) =>
      api.listTemplates({}, signal).then(
        (page) => new Map(page.templates.map((t: ScriptTemplate) => [t.id, t.name])),
        () => new Map<string, string>(),
      ),
    [],
  )
  return (
    <div className="page analytics-page">
      <h1 tabIndex={-1}>Analytics</h1>
      <p className="hint">Which fixes work in this account: every declared run and how it ended.</p>
      <fieldset className="window-picker">
        <legend>Window</legend>
        {WINDOWS.map((n) => (
          <label key={n}>
            <input type="radio" name={`${ids}-window`} checked={days === n} onChange={() => setDays(n)} /> Last {n} days
          </label>
        ))}
      </fieldset>
      <section aria-labelledby={`${ids}-totals`}>
        <h2 id={`${ids}-totals`}>Last {days} days</h2>
        {totals.loading && !totals.data ? <Loading what="the totals" /> : null}
        {totals.error ? <LoadFailed error={totals.error} onRetry={totals.reload} what="the totals" /> : null}
        {totals.data && !totals.error ? <Totals data={totals.data} /> : null}
      </section>
      {TABLES.map((table) => (
        <GroupTable key={table.dimension} days={days} templates={templates.data ?? new Map()} {...table} />
      ))}
    </div>
  )
}
