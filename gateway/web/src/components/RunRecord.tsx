// A fix's run record: the exact script and values that ran, as the fixes
// service kept them when the run was declared (immutable), and the notes
// recorded with its outcomes.
import { useId } from 'react'
import type { FixNote, FixRun } from '../api/types'
import { formatTime } from '../lib/words'

const KIND_WORDS: Record<NonNullable<FixRun['kind']>, string> = {
  apply: '“✓ I ran this”',
  one_off: '“Run now, no template”',
  draft_template: '“Run now, templatize after”',
}

export function RunRecord({ run, label = 'Run record' }: { run: FixRun; label?: string }) {
  const ids = useId()
  const values = Object.entries(run.parameters ?? {})
  return (
    <section className="run-record" aria-labelledby={`${ids}-title`} data-testid="run-record">
      <h3 id={`${ids}-title`}>{label}</h3>
      <p className="hint">
        Ran {run.declared_at ? <time dateTime={run.declared_at}>{formatTime(run.declared_at)}</time> : null} by{' '}
        {run.declared_by_user_id}
        {run.kind ? ` (${KIND_WORDS[run.kind]})` : ''}
        {run.source === 'template' ? ', from the template' : ''}.
      </p>
      {run.script != null ? (
        <pre className="code code--scroll" role="group" tabIndex={0} aria-label="The script that ran">
          <code>{run.script}</code>
        </pre>
      ) : (
        <p className="hint">The values it ran with were not given, so the exact script is not known.</p>
      )}
      {run.script != null && !run.rendered ? (
        <p className="hint">Kept as drafted: some placeholders had no value when the run was declared.</p>
      ) : null}
      {values.length ? (
        <div role="group" aria-label="Values it ran with">
          <dl className="parameter-values">
            {values.map(([name, value]) => (
              <div key={name}>
                <dt>
                  <code>{name}</code>
                </dt>
                <dd>{JSON.stringify(value)}</dd>
              </div>
            ))}
          </dl>
        </div>
      ) : null}
    </section>
  )
}

const OUTCOME_WORDS: Record<string, string> = {
  applied_success: 'worked',
  applied_failed: 'did not work',
  applied_partial: 'partial',
}

/** Earlier outcome notes (the current outcome's notes are shown with the fix). */
export function NotesHistory({ notes }: { notes: FixNote[] }) {
  if (notes.length < 2) return null
  return (
    <details className="notes-history">
      <summary>Earlier notes ({notes.length - 1})</summary>
      <ul>
        {notes.slice(0, -1).map((note, index) => (
          <li key={index}>
            <span className="hint">
              {note.recorded_at ? formatTime(note.recorded_at) : ''} · {note.recorded_by_user_id} ·{' '}
              {note.outcome ? OUTCOME_WORDS[note.outcome] : ''}:
            </span>{' '}
            {note.notes}
          </li>
        ))}
      </ul>
    </details>
  )
}
