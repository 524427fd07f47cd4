// How a template (or the recipe behind an AI draft) has done in this account:
// "Worked 7 of 9 runs (78%) in this account", with the sample size, from
// GET /api/v1/analytics/success-rate (the last 90 days). Viewers see it too.
import * as api from '../api/client'
import type { OutcomeCounts } from '../api/types'
import { useLoader } from '../lib/hooks'
import { describeError } from '../lib/words'

/** "Worked 7 of 9 runs (78%)" — the sample size is the runs with an outcome. */
export function describeRate(counts: OutcomeCounts): string {
  if (!counts.decided) return counts.runs ? 'No outcome recorded yet' : 'No runs yet'
  const percent = Math.round((counts.success_rate ?? counts.success / counts.decided) * 100)
  return `Worked ${counts.success} of ${counts.decided} run${counts.decided === 1 ? '' : 's'} (${percent}%)`
}

export function SuccessRateNote({ templateId, recipeId }: { templateId?: string | null; recipeId?: string | null }) {
  const subject = templateId ? { templateId } : recipeId ? { recipeId } : null
  const rate = useLoader(
    (signal) => (subject ? api.getSuccessRate(subject, signal) : Promise.resolve(null)),
    [templateId, recipeId],
  )
  if (!subject) return null
  const what = templateId ? 'this template' : 'the recipe behind this draft'
  let text: string
  if (rate.loading) text = `Loading how ${what} has done…`
  else if (rate.error) text = `Could not load how ${what} has done: ${describeError(rate.error)}`
  else if (rate.data) {
    const c = rate.data.counts
    const open = c.pending + c.never_applied
    text = `${describeRate(c)} in this account, last 90 days`
    if (c.decided && open) text += ` · ${open} more without an outcome`
  } else text = ''
  return (
    <p className="success-rate" role="status" data-testid="success-rate">
      <span className="success-rate-label">{templateId ? 'This template:' : 'This recipe:'}</span> {text}
    </p>
  )
}
