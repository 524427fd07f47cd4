// Escalate (seed §6): every fix that was run needs a word on how it went.
// Which fixes and which choices are the session's `escalation_choices` (the
// server's rule, e.g. no partial choice for a fix already partial); the
// choices and the escalation commit together, or not at all.
import { useId, useState } from 'react'
import * as api from '../api/client'
import type { AiSession, EscalationChoice, SuggestedFix } from '../api/types'
import { useAction } from '../lib/hooks'
import { fixStateLabel } from '../lib/words'
import { Dialog } from './Dialog'
import { ErrorNote } from './ErrorNote'

export const CHOICE_LABEL: Record<EscalationChoice, string> = {
  applied_failed: "The fix didn't work",
  applied_success: 'It worked — escalating for another reason',
  never_applied: 'Never actually applied it',
  applied_partial: 'I applied some of it — partial',
}

export function EscalateInterceptDialog({
  session,
  fixes,
  onClose,
  onEscalated,
}: {
  session: AiSession
  fixes: SuggestedFix[]
  onClose: () => void
  onEscalated: (session: AiSession) => void
}) {
  const ids = useId()
  const action = useAction()
  const entries = api.escalationEntries(session, fixes)
  const needing = entries.map((e) => e.fix)
  const [reason, setReason] = useState('')
  const [choices, setChoices] = useState<Record<string, EscalationChoice>>({})
  const [notes, setNotes] = useState<Record<string, string>>({})
  const [missing, setMissing] = useState<string | null>(null)

  async function escalate(): Promise<void> {
    const unanswered = needing.filter((f) => !choices[f.id])
    if (unanswered.length) {
      setMissing(`Choose what happened with “${unanswered[0].title}”.`)
      return
    }
    const withoutNotes = needing.find((f) => choices[f.id] === 'applied_partial' && !notes[f.id]?.trim())
    if (withoutNotes) {
      setMissing(`Say what was applied of “${withoutNotes.title}”.`)
      return
    }
    setMissing(null)
    const outcomes = needing.map((f) => ({
      fix_id: f.id,
      choice: choices[f.id],
      ...(choices[f.id] === 'applied_partial' ? { notes: notes[f.id].trim() } : {}),
    }))
    const updated = await action.run(() => api.escalateAiSession(session, reason.trim(), outcomes))
    if (updated) onEscalated(updated)
  }

  return (
    <Dialog title="Escalate this session" onClose={onClose} className="escalate-dialog">
      <form
        onSubmit={(event) => {
          event.preventDefault()
          void escalate()
        }}
      >
        <div className="field">
          <label htmlFor={`${ids}-reason`}>Why are you escalating?</label>
          <textarea id={`${ids}-reason`} value={reason} onChange={(e) => setReason(e.target.value)} rows={2} />
        </div>
        {needing.length ? (
          <p className="hint">These fixes were run; say how each went before escalating.</p>
        ) : (
          <p className="hint">No fix was run in this session, so nothing else is needed.</p>
        )}
        {entries.map(({ fix, allowed }) => {
          const choice = choices[fix.id]
          return (
            <fieldset key={fix.id} className="choice-group">
              <legend>
                {fix.title} <span className="hint">({fixStateLabel(fix)})</span>
              </legend>
              {allowed.map((value) => (
                <label className="radio" key={value}>
                  <input
                    type="radio"
                    name={`${ids}-${fix.id}`}
                    value={value}
                    checked={choice === value}
                    onChange={() => setChoices({ ...choices, [fix.id]: value })}
                  />
                  {CHOICE_LABEL[value]}
                </label>
              ))}
              {choice === 'applied_partial' ? (
                <div className="field">
                  <label htmlFor={`${ids}-${fix.id}-notes`}>What was applied, and what was not? (required)</label>
                  <textarea
                    id={`${ids}-${fix.id}-notes`}
                    value={notes[fix.id] ?? ''}
                    onChange={(e) => setNotes({ ...notes, [fix.id]: e.target.value })}
                    rows={2}
                    required
                  />
                </div>
              ) : null}
            </fieldset>
          )
        })}
        {missing ? (
          <p className="error-note" role="alert">
            {missing}
          </p>
        ) : null}
        <ErrorNote error={action.error} />
        <div className="actions actions--end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="danger" disabled={action.busy}>
            Escalate
          </button>
        </div>
      </form>
    </Dialog>
  )
}
