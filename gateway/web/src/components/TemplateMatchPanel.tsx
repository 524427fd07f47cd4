// The fix's template in the task lane: a typed parameter form, "Generate"
// (render), "Copy", and "✓ I ran this" — the only one of them that stamps
// `applied_at` (seed §5). "✓ I ran this" sends the form's values, so the
// fix's run record keeps the exact script that ran; it shows once declared.
import { useEffect, useId, useState, type Ref } from 'react'
import type { JsonValue } from '../api/types'
import * as api from '../api/client'
import type { RenderedScript, SuggestedFix } from '../api/types'
import { useAction, useLoader } from '../lib/hooks'
import { describeError, formatTime, LANGUAGE_LABEL } from '../lib/words'
import { CopyButton } from './CopyButton'
import { ErrorNote, LoadFailed, Loading } from './ErrorNote'
import { RunRecord } from './RunRecord'
import { SuccessRateNote } from './SuccessRateNote'
import { ThreeWayCompare, type CompareText } from './ThreeWayCompare'
import { initialValues, ParameterForm, toRenderValues, type ParameterValues } from './ParameterForm'

export function TemplateMatchPanel({
  fix,
  canWrite,
  onClose,
  onRan,
  headingRef,
}: {
  fix: SuggestedFix
  canWrite: boolean
  onClose: () => void
  onRan: (fix: SuggestedFix) => void
  headingRef?: Ref<HTMLHeadingElement>
}) {
  const ids = useId()
  const templateId = fix.script_template_id ?? ''
  const template = useLoader((signal) => api.getTemplate(templateId, signal), [templateId])
  const [values, setValues] = useState<ParameterValues>({})
  const [rendered, setRendered] = useState<RenderedScript | null>(null)
  const generate = useAction()
  const ran = useAction()
  // The pinned version is what "✓ I ran this" records; older fixes: the current one.
  const version = fix.script_template_version ?? null
  const [comparing, setComparing] = useState(false)
  const [templateRender, setTemplateRender] = useState<CompareText>({ text: null, missing: 'Rendering…' })
  const [aboutToRun, setAboutToRun] = useState<CompareText>({ text: null, missing: 'Rendering…' })

  useEffect(() => {
    if (template.data) setValues(initialValues(template.data.parameters))
  }, [template.data])

  async function onGenerate(): Promise<void> {
    if (!template.data) return
    const parameters = toRenderValues(template.data.parameters, values)
    const result = await generate.run(() => api.renderTemplate(templateId, parameters, undefined, version))
    if (result) setRendered(result)
  }

  // Once "Compare" was opened: the template rendered with the AI's values, and
  // with the form's (what "✓ I ran this" records), again as the form changes.
  useEffect(() => {
    if (!comparing || !template.data) return
    const controller = new AbortController()
    const render = (parameters: Record<string, JsonValue>, set: (text: CompareText) => void) =>
      api.renderTemplate(templateId, parameters, controller.signal, version).then(
        (result) => set({ text: result.script }),
        (error: unknown) => {
          if (!api.isAbort(error)) set({ text: null, missing: `Could not render: ${describeError(error)}` })
        },
      )
    const names = new Set(template.data.parameters.map((p) => p.name))
    const aiValues = Object.fromEntries(
      Object.entries(fix.ai_drafted_parameters ?? {}).filter(([name]) => names.has(name)),
    )
    void render(aiValues, setTemplateRender)
    const timer = window.setTimeout(
      () => void render(toRenderValues(template.data!.parameters, values), setAboutToRun),
      250,
    )
    return () => {
      window.clearTimeout(timer)
      controller.abort()
    }
  }, [comparing, template.data, templateId, version, values, fix.ai_drafted_parameters])

  async function onRanIt(): Promise<void> {
    const parameters = template.data ? toRenderValues(template.data.parameters, values) : null
    const updated = await ran.run(() => api.declareRun(fix, parameters))
    if (updated) onRan(updated)
  }

  const headingId = `${ids}-heading`
  const canRun = canWrite && api.fixActions(fix).declareRun
  return (
    <section className="panel template-panel" aria-labelledby={headingId} data-testid="template-match-panel">
      <div className="panel-head">
        <h2 id={headingId} ref={headingRef} tabIndex={-1}>
          Template for “{fix.title}”
        </h2>
        <button type="button" className="link-button" onClick={onClose}>
          Close
        </button>
      </div>
      {template.loading ? <Loading what="the template" /> : null}
      {template.error ? (
        <LoadFailed error={template.error} onRetry={template.reload} what="the template" />
      ) : null}
      {template.data ? (
        <form
          onSubmit={(event) => {
            event.preventDefault()
            void onGenerate()
          }}
        >
          <p>
            <strong>{template.data.name}</strong>{' '}
            <span className="hint">
              {LANGUAGE_LABEL[template.data.language]} · {template.data.status}
              {version ? ` · version ${version}` : ''}
            </span>
          </p>
          {template.data.description ? <p className="hint">{template.data.description}</p> : null}
          <SuccessRateNote templateId={templateId} />
          <ParameterForm parameters={template.data.parameters} values={values} onChange={setValues} />
          <div className="actions">
            <button type="submit" disabled={generate.busy}>
              Generate
            </button>
            <CopyButton text={rendered?.script ?? ''} />
          </div>
          <ErrorNote error={generate.error} onRetry={() => void onGenerate()} />
          {rendered ? (
            <pre className="code code--scroll" role="group" tabIndex={0} aria-label="Generated script">
              <code>{rendered.script}</code>
            </pre>
          ) : null}
          {fix.applied_at ? (
            <p className="hint">
              Marked as run at <time dateTime={fix.applied_at}>{formatTime(fix.applied_at)}</time>.
            </p>
          ) : null}
          {fix.last_run ? <RunRecord run={fix.last_run} label="What ran" /> : null}
          {!fix.applied_at ? (
            <ThreeWayCompare
              aiDraft={{ text: fix.ai_drafted_script, missing: 'The AI drafted no script for this fix.' }}
              templateRender={templateRender}
              aboutToRun={aboutToRun}
              onOpen={() => setComparing(true)}
            />
          ) : null}
          {!fix.applied_at && canRun ? (
            <div className="actions">
              <button type="button" className="primary" onClick={() => void onRanIt()} disabled={ran.busy}>
                ✓ I ran this
              </button>
            </div>
          ) : null}
          <ErrorNote error={ran.error} onRetry={() => void onRanIt()} />
        </form>
      ) : null}
    </section>
  )
}
