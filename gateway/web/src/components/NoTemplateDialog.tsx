// "How do you want to run this script?" — in the chat region, where the three
// cards fit side by side (seed §3). `one_off` and `draft_template` declare a
// run (they stamp `applied_at`); `build_template` only records the choice.
import { useEffect, useId, useState } from 'react'
import * as api from '../api/client'
import type { ScriptDecision, SuggestedFix } from '../api/types'
import { useAction } from '../lib/hooks'
import { LANGUAGE_LABEL } from '../lib/words'
import { CopyButton } from './CopyButton'
import { Dialog } from './Dialog'
import { ErrorNote } from './ErrorNote'

const CARDS: { decision: ScriptDecision; title: string; description: string }[] = [
  {
    decision: 'one_off',
    title: 'Run now, no template',
    description: 'Run the script once as it is. This marks the fix as run.',
  },
  {
    decision: 'draft_template',
    title: 'Run now, templatize after',
    description: 'Run it now and leave a draft template for the library. This marks the fix as run.',
  },
  {
    decision: 'build_template',
    title: 'Just open the builder',
    description: 'Run nothing yet: open the Script Builder to shape a template first.',
  },
]

export function NoTemplateDialog({
  fix,
  onClose,
  onDecided,
}: {
  fix: SuggestedFix
  onClose: () => void
  onDecided: (fix: SuggestedFix, decision: ScriptDecision) => void
}) {
  const ids = useId()
  const action = useAction()
  const [view, setView] = useState<api.DraftedScriptView | null>(null)

  useEffect(() => {
    let live = true
    void api.renderDraftedScript(fix).then((v) => {
      if (live) setView(v)
    })
    return () => {
      live = false
    }
  }, [fix])

  async function decide(decision: ScriptDecision): Promise<void> {
    const updated = await action.run(() => api.recordScriptDecision(fix, decision))
    if (updated) onDecided(updated, decision)
  }

  return (
    <Dialog
      title="How do you want to run this script?"
      onClose={onClose}
      placement="chat"
      className="no-template-dialog"
      describedBy={`${ids}-about`}
    >
      <p id={`${ids}-about`} className="hint">
        {fix.title} · {LANGUAGE_LABEL[fix.script_language]}
      </p>
      <pre className="code code--scroll" role="group" tabIndex={0} aria-label="The drafted script">
        <code>{view?.script ?? fix.ai_drafted_script ?? ''}</code>
      </pre>
      {view && view.values.length ? (
        <div role="group" aria-label="Parameter values">
        <dl className="parameter-values">
          {view.values.map(([name, value]) => (
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
      <div className="actions">
        <CopyButton text={view?.script ?? fix.ai_drafted_script ?? ''} label="Copy script" />
      </div>
      <div className="cards" role="group" aria-label="How to run it" data-testid="no-template-cards">
        {CARDS.map((card) => (
          // The whole card is the button's hit area (see .card-button::after);
          // the button's name is the card's title, its description describes it.
          <div className="card" key={card.decision}>
            <button
              type="button"
              className="card-button"
              onClick={() => void decide(card.decision)}
              disabled={action.busy}
              aria-describedby={`${ids}-${card.decision}-text`}
              data-decision={card.decision}
            >
              {card.title}
            </button>
            <p className="card-text" id={`${ids}-${card.decision}-text`}>
              {card.description}
            </p>
          </div>
        ))}
      </div>
      <ErrorNote error={action.error} />
      <div className="actions actions--end">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  )
}
