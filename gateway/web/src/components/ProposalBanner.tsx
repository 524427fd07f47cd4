// The active fix and its state (from `banner_mode`), with the actions the
// server allows now (`allowed_actions`). "Apply" only opens a surface (the page
// routes it by `apply_route`, seed §4); it never stamps `applied_at`.
import { useId, useState } from 'react'
import * as api from '../api/client'
import type { AiSession, FixOutcome, SuggestedFix } from '../api/types'
import { useAction } from '../lib/hooks'
import { formatTime, LANGUAGE_LABEL } from '../lib/words'
import { ErrorNote } from './ErrorNote'
import { NotesHistory, RunRecord } from './RunRecord'

const MODE_LABEL: Record<SuggestedFix['banner_mode'], string> = {
  proposed: 'Proposed fix',
  verifying: 'Verifying',
  partial: 'Partially applied',
  success: 'Worked',
  failed: 'Did not work',
  dismissed: 'Dismissed',
  frozen: 'Frozen',
}

const OUTCOME_LABEL: Record<FixOutcome, string> = {
  applied_success: 'it worked',
  applied_failed: 'it did not work',
  applied_partial: 'it partially worked',
}

const ROUTE_HINT: Record<SuggestedFix['apply_route'], string> = {
  template_match_panel: 'Apply opens the matching template in the task lane.',
  no_template_dialog: 'Apply asks how you want to run the drafted script.',
  script_builder_tab: 'This fix needs a script: Apply opens the Script Builder.',
  none: '',
}

export function ProposalBanner({
  fix,
  session,
  canWrite,
  onApply,
  onUpdated,
}: {
  fix: SuggestedFix
  session: AiSession
  canWrite: boolean
  onApply: (fix: SuggestedFix) => void
  onUpdated: (fix: SuggestedFix) => void
}) {
  const ids = useId()
  const action = useAction()
  const [partialOpen, setPartialOpen] = useState(false)
  const [notes, setNotes] = useState('')
  const allowed = api.fixActions(fix)
  // The role is checked too, though a viewer's fixes list no actions anyway.
  const writable = canWrite

  async function outcome(value: FixOutcome, withNotes = ''): Promise<void> {
    const updated = await action.run(() => api.recordOutcome(fix, value, withNotes))
    if (updated) {
      setPartialOpen(false)
      setNotes('')
      onUpdated(updated)
    }
  }

  async function dismiss(): Promise<void> {
    const updated = await action.run(() => api.dismissFix(fix))
    if (updated) onUpdated(updated)
  }

  async function clearProposal(): Promise<void> {
    const updated = await action.run(() => api.clearOutcomeProposal(fix))
    if (updated) onUpdated(updated)
  }

  function confirmProposal(): void {
    const proposal = fix.ai_outcome_proposal
    if (!proposal) return
    if (proposal.outcome === 'applied_partial') {
      // Partial needs the engineer's notes; start from the AI's rationale.
      setNotes(proposal.rationale)
      setPartialOpen(true)
      return
    }
    void outcome(proposal.outcome)
  }

  const titleId = `${ids}-title`
  return (
    <section
      className={`banner banner--${fix.banner_mode}`}
      aria-labelledby={titleId}
      data-testid="proposal-banner"
    >
      <div className="banner-head">
        <span className={`badge badge--${fix.banner_mode}`}>{MODE_LABEL[fix.banner_mode]}</span>
        <h2 id={titleId} className="banner-title" tabIndex={-1}>
          {fix.title}
        </h2>
        <span className="hint">{LANGUAGE_LABEL[fix.script_language]}</span>
      </div>
      {fix.description ? <p className="banner-description">{fix.description}</p> : null}
      {fix.applied_at ? (
        <p className="hint">
          Ran at <time dateTime={fix.applied_at}>{formatTime(fix.applied_at)}</time>
          {fix.outcome_notes ? ` · Notes: ${fix.outcome_notes}` : ''}
        </p>
      ) : null}
      <NotesHistory notes={fix.notes_history} />
      {session.status !== 'active' ? (
        <p className="hint">This session is {session.status}; its fixes can no longer change.</p>
      ) : null}
      {fix.last_run ? (
        <details className="run-details">
          <summary>What ran</summary>
          <RunRecord run={fix.last_run} />
        </details>
      ) : null}

      {fix.ai_outcome_proposal ? (
        <div className="ai-proposal" role="note" aria-label="AI outcome proposal">
          <p>
            The AI thinks {OUTCOME_LABEL[fix.ai_outcome_proposal.outcome]}
            {fix.ai_outcome_proposal.rationale ? `: “${fix.ai_outcome_proposal.rationale}”` : '.'}
          </p>
          {writable ? (
            <div className="actions">
              {allowed.confirmProposal ? (
                <button type="button" onClick={confirmProposal} disabled={action.busy}>
                  Confirm
                </button>
              ) : null}
              {allowed.clearProposal ? (
                <button type="button" onClick={() => void clearProposal()} disabled={action.busy}>
                  Clear
                </button>
              ) : null}
            </div>
          ) : null}
        </div>
      ) : null}

      {writable ? (
        <div className="actions banner-actions">
          {allowed.apply ? (
            <button type="button" className="primary" onClick={() => onApply(fix)} aria-describedby={`${ids}-route`}>
              Apply
            </button>
          ) : null}
          {allowed.dismiss ? (
            <button type="button" onClick={() => void dismiss()} disabled={action.busy}>
              Dismiss
            </button>
          ) : null}
          {allowed.recordSuccess ? (
            <button type="button" onClick={() => void outcome('applied_success')} disabled={action.busy}>
              It worked
            </button>
          ) : null}
          {allowed.recordFailed ? (
            <button type="button" onClick={() => void outcome('applied_failed')} disabled={action.busy}>
              Didn't work
            </button>
          ) : null}
          {allowed.recordPartial ? (
            <button
              type="button"
              aria-expanded={partialOpen}
              aria-controls={`${ids}-partial`}
              onClick={() => setPartialOpen((open) => !open)}
              disabled={action.busy}
            >
              Partial
            </button>
          ) : null}
        </div>
      ) : null}
      {allowed.apply && writable ? (
        <p className="hint" id={`${ids}-route`}>
          {ROUTE_HINT[fix.apply_route]}
        </p>
      ) : null}

      {partialOpen && writable ? (
        <form
          id={`${ids}-partial`}
          className="inline-form"
          onSubmit={(event) => {
            event.preventDefault()
            void outcome('applied_partial', notes.trim())
          }}
        >
          <label htmlFor={`${ids}-notes`}>What was applied, and what was not? (required)</label>
          <textarea
            id={`${ids}-notes`}
            value={notes}
            onChange={(e) => setNotes(e.target.value)}
            required
            rows={2}
            autoFocus
          />
          <div className="actions">
            <button type="submit" className="primary" disabled={action.busy || !notes.trim()}>
              Save partial
            </button>
            <button type="button" onClick={() => setPartialOpen(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
      <ErrorNote error={action.error} />
    </section>
  )
}
