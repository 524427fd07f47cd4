// "How do you want to run this script?" — in the chat region, where the three
// cards fit side by side (seed §3). The script is the server's render of the
// fix (`…:render`) with the values shown; `one_off` and `draft_template`
// declare a run with those values (they stamp `applied_at`, and the run record
// keeps that exact script); `build_template` only records the choice. A card
// the server does not allow now is shown disabled.
import { useEffect, useId, useMemo, useState } from 'react'
import * as api from '../api/client'
import type { RenderedScript, ScriptDecision, SuggestedFix, TemplateParameter } from '../api/types'
import { useAction } from '../lib/hooks'
import { placeholders } from '../lib/scripts'
import { describeError, LANGUAGE_LABEL } from '../lib/words'
import { CopyButton } from './CopyButton'
import { Dialog } from './Dialog'
import { ErrorNote } from './ErrorNote'
import { SuccessRateNote } from './SuccessRateNote'
import { ThreeWayCompare, type CompareText } from './ThreeWayCompare'
import { initialValues, ParameterForm, toRenderValues, type ParameterValues } from './ParameterForm'

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

/** A drafted fix's parameters: the typed ones it carries, else one per placeholder. */
function parametersOf(fix: SuggestedFix): TemplateParameter[] {
  return api.draftedParameters(placeholders(fix.ai_drafted_script ?? ''), fix.script_parameters)
}

/** The form's starting values: the fix's own, then the defaults. */
function startingValues(fix: SuggestedFix, parameters: TemplateParameter[]): ParameterValues {
  const values = initialValues(parameters)
  for (const [name, value] of Object.entries(fix.ai_drafted_parameters ?? {})) {
    if (!(name in values)) continue
    if (typeof value === 'boolean') values[name] = value
    else if (typeof value === 'string' || typeof value === 'number') values[name] = String(value)
  }
  return values
}

const RENDER_DELAY_MS = 250

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
  const parameters = useMemo(() => parametersOf(fix), [fix])
  const [values, setValues] = useState<ParameterValues>(() => startingValues(fix, parameters))
  const [rendered, setRendered] = useState<RenderedScript | null>(null)
  const [renderError, setRenderError] = useState<unknown>(null)
  const [editing, setEditing] = useState(false)
  const allowed = api.fixActions(fix).decide
  const runValues = useMemo(() => toRenderValues(parameters, values), [parameters, values])
  const [comparing, setComparing] = useState(false)
  const [aiRender, setAiRender] = useState<CompareText>({ text: null, missing: 'Rendering…' })

  // For "Compare": the draft rendered with the AI's own values (the fix's).
  useEffect(() => {
    if (!comparing) return
    const controller = new AbortController()
    api.renderDraftedScript(fix, {}, controller.signal).then(
      (result) => setAiRender({ text: result.script }),
      (error: unknown) => {
        if (!api.isAbort(error)) setAiRender({ text: null, missing: `Could not render: ${describeError(error)}` })
      },
    )
    return () => controller.abort()
  }, [comparing, fix])

  // The server renders the script with these values, quoted for the fix's
  // language; what is shown (and copied) is what a run declares.
  useEffect(() => {
    const controller = new AbortController()
    const timer = window.setTimeout(() => {
      api.renderDraftedScript(fix, runValues, controller.signal).then(
        (result) => {
          setRendered(result)
          setRenderError(null)
        },
        (error: unknown) => {
          if (api.isAbort(error)) return
          setRendered(null)
          setRenderError(error)
          // A value is missing or wrong: open the form so it can be given.
          if (error instanceof api.ApiError && error.status === 400) setEditing(true)
        },
      )
    }, RENDER_DELAY_MS)
    return () => {
      window.clearTimeout(timer)
      controller.abort()
    }
  }, [fix, runValues])

  async function decide(decision: ScriptDecision): Promise<void> {
    const updated = await action.run(() =>
      api.recordScriptDecision(fix, decision, Object.keys(runValues).length ? runValues : null),
    )
    if (updated) onDecided(updated, decision)
  }

  const shown = rendered?.script ?? fix.ai_drafted_script ?? ''
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
        <code>{shown}</code>
      </pre>
      {rendered ? (
        <p className="hint">Rendered by FlowPilot with the values below, quoted for {LANGUAGE_LABEL[rendered.language]}.</p>
      ) : renderError ? (
        <p className="hint" role="status">
          Shown as drafted: {describeError(renderError)}
        </p>
      ) : null}
      {parameters.length ? (
        <div role="group" aria-label="Parameter values">
          <dl className="parameter-values">
            {parameters.map((p) => (
              <div key={p.name}>
                <dt>
                  <code>{p.name}</code>
                </dt>
                <dd>{p.name in runValues ? JSON.stringify(runValues[p.name]) : '(no value)'}</dd>
              </div>
            ))}
          </dl>
          <button
            type="button"
            className="link-button"
            aria-expanded={editing}
            aria-controls={`${ids}-values`}
            onClick={() => setEditing((open) => !open)}
          >
            {editing ? 'Hide the values' : 'Change the values'}
          </button>
        </div>
      ) : null}
      {editing && parameters.length ? (
        <fieldset id={`${ids}-values`} className="parameters">
          <legend>Values for this run</legend>
          <ParameterForm parameters={parameters} values={values} onChange={setValues} />
        </fieldset>
      ) : null}
      <div className="actions">
        <CopyButton text={shown} label="Copy script" />
      </div>
      <ThreeWayCompare
        aiDraft={{ text: fix.ai_drafted_script, missing: 'The AI drafted no script for this fix.' }}
        templateRender={aiRender}
        renderTitle="Rendered with the AI's values"
        renderName="the render with the AI's values"
        aboutToRun={rendered ? { text: rendered.script } : { text: null, missing: 'Not rendered yet.' }}
        onOpen={() => setComparing(true)}
      />
      <SuccessRateNote recipeId={fix.provenance?.recipe_id ?? null} />
      <div className="cards" role="group" aria-label="How to run it" data-testid="no-template-cards">
        {CARDS.map((card) => (
          // The whole card is the button's hit area (see .card-button::after);
          // the button's name is the card's title, its description describes it.
          <div className={`card${allowed[card.decision] ? '' : ' card--unavailable'}`} key={card.decision}>
            <button
              type="button"
              className="card-button"
              onClick={() => void decide(card.decision)}
              disabled={action.busy || !allowed[card.decision]}
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
