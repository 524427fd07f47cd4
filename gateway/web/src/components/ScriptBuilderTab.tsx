// The controller of the inline Script Builder (seed §2): it owns the inline
// script-builder session, the drafting conversation, the editor buffer and the
// AI/editor mode, and the one terminal action, Submit → PATCH …/script.
// The inline session drafts for this fix (get-or-create and every message
// name it), so the drafter works on this fix, in its language, and the
// conversation shown is this fix's. Mode and buffer are saved to the server
// (only what changed), so a refresh resumes where the engineer was. Submit
// sends the script with its typed parameters and never stamps `applied_at`.
import { lazy, Suspense, useCallback, useEffect, useId, useMemo, useRef, useState, type Ref } from 'react'
import * as api from '../api/client'
import type { BuilderMessage, BuilderSession, EditorMode, SuggestedFix, TemplateParameter } from '../api/types'
import { useAction } from '../lib/hooks'
import { claimDraft, forgetDraft, savesSettled, trackSave } from '../lib/inlineDrafts'
import { placeholders, scaffoldFor } from '../lib/scripts'
import { LANGUAGE_LABEL } from '../lib/words'
import { ErrorNote, LoadFailed, Loading } from './ErrorNote'
import { ParameterForm, toRenderValues, type ParameterValues } from './ParameterForm'
import { ScriptBuilderChat } from './ScriptBuilderChat'

const CodeEditor = lazy(() => import('./CodeEditor'))
const DRAFT_SAVE_DELAY_MS = 600

/** The inline session is shared by the AI session's fixes; each exchange names its fix. */
function conversationFor(fix: SuggestedFix, messages: BuilderMessage[]): BuilderMessage[] {
  return messages.filter((m) => m.fix_id === fix.id)
}

/** Values as the form edits them: a default becomes the starting value. */
function valuesFrom(parameters: TemplateParameter[], previous: ParameterValues): ParameterValues {
  const values: ParameterValues = {}
  for (const p of parameters) {
    if (p.name in previous) values[p.name] = previous[p.name]
    else if (p.type === 'boolean') values[p.name] = p.default === true
    else values[p.name] = p.default === null || p.default === undefined ? '' : String(p.default)
  }
  return values
}

export function ScriptBuilderTab({
  fix,
  onProgressChange,
  onScriptDrafted,
  headingRef,
}: {
  fix: SuggestedFix
  onProgressChange: (inProgress: boolean) => void
  onScriptDrafted: (fix: SuggestedFix) => void
  headingRef?: Ref<HTMLHeadingElement>
}) {
  const ids = useId()
  const [builder, setBuilder] = useState<BuilderSession | null>(null)
  const [loadError, setLoadError] = useState<unknown>(null)
  const [attempt, setAttempt] = useState(0)
  const [messages, setMessages] = useState<BuilderMessage[]>([])
  const [mode, setMode] = useState<EditorMode>('ai')
  const [buffer, setBuffer] = useState('')
  const [editorLoaded, setEditorLoaded] = useState(false)
  // Bumped when the buffer is replaced from here (scaffold, resume), so the
  // uncontrolled editor remounts with the new text.
  const [editorGeneration, setEditorGeneration] = useState(0)
  const [composer, setComposer] = useState('')
  const [selected, setSelected] = useState<BuilderMessage | null>(null)
  const [parameterValues, setParameterValues] = useState<ParameterValues>({})
  const [streaming, setStreaming] = useState<{ user: BuilderMessage | null; text: string } | null>(null)
  const sending = useAction()
  const submitting = useAction()
  const saving = useAction()
  const pendingSave = useRef<number | null>(null)
  const latest = useRef({ buffer, mode, builderId: '' })
  latest.current = { buffer, mode, builderId: builder?.id ?? '' }
  const signal = useRef<AbortController>(new AbortController())

  const scaffold = useMemo(
    () => scaffoldFor(fix.script_language, fix.title, fix.description),
    [fix.script_language, fix.title, fix.description],
  )

  // Get-or-create the inline session, then its conversation: once per fix (a
  // refreshed copy of the same fix, after a poll, does not start it again).
  useEffect(() => {
    const controller = new AbortController()
    signal.current = controller
    setLoadError(null)
    ;(async () => {
      // A save of the previous fix's buffer still on its way lands first.
      await savesSettled()
      const session = await api.getOrCreateInlineSession(fix, controller.signal)
      const history = await api.listMessages(session.id, controller.signal)
      const draft = claimDraft(session, fix.id)
      if (draft.replaced) {
        await trackSave(
          api.saveDraft(session.id, { editor_buffer: draft.buffer, mode: draft.mode }, controller.signal),
        )
      }
      setBuilder(session)
      setMessages(history)
      setMode(draft.mode)
      setBuffer(draft.buffer)
      setEditorGeneration((g) => g + 1)
      if (draft.mode === 'editor') setEditorLoaded(true)
    })().catch((error: unknown) => {
      if (!api.isAbort(error) && !controller.signal.aborted) setLoadError(error)
    })
    return () => controller.abort()
  }, [fix.id, attempt])

  const conversation = useMemo(() => conversationFor(fix, messages), [fix, messages])
  const inProgress =
    conversation.some((m) => m.role === 'user') || (buffer.trim() !== '' && buffer !== scaffold)
  useEffect(() => onProgressChange(inProgress), [inProgress, onProgressChange])

  const persist = useCallback(
    (changes: api.DraftChanges) => {
      const id = latest.current.builderId
      if (!id) return
      void saving.run(() => trackSave(api.saveDraft(id, changes, signal.current.signal)))
    },
    [saving],
  )

  // Flush a pending buffer save when the tab goes away (session switch, submit).
  useEffect(
    () => () => {
      if (pendingSave.current !== null) {
        window.clearTimeout(pendingSave.current)
        const { builderId, buffer: b } = latest.current
        if (builderId) void trackSave(api.saveDraft(builderId, { editor_buffer: b })).catch(() => undefined)
      }
    },
    [],
  )

  function changeBuffer(next: string): void {
    setBuffer(next)
    if (pendingSave.current !== null) window.clearTimeout(pendingSave.current)
    pendingSave.current = window.setTimeout(() => {
      pendingSave.current = null
      persist({ editor_buffer: latest.current.buffer })
    }, DRAFT_SAVE_DELAY_MS)
  }

  function switchMode(next: EditorMode): void {
    let nextBuffer = buffer
    if (next === 'editor' && buffer.trim() === '') {
      nextBuffer = scaffold
      setEditorGeneration((g) => g + 1)
    }
    // A buffer save still waiting goes with the mode.
    const bufferChanged = nextBuffer !== buffer || pendingSave.current !== null
    if (pendingSave.current !== null) {
      window.clearTimeout(pendingSave.current)
      pendingSave.current = null
    }
    setBuffer(nextBuffer)
    setMode(next)
    if (next === 'editor') setEditorLoaded(true)
    persist(bufferChanged ? { mode: next, editor_buffer: nextBuffer } : { mode: next })
  }

  async function send(): Promise<void> {
    const content = composer.trim()
    if (!content || !builder) return
    setStreaming({ user: null, text: '' })
    const exchange = await sending.run(() =>
      api.sendDrafterMessage(builder.id, content, fix, signal.current.signal, {
        onUserMessage: (user) => setStreaming((s) => (s ? { ...s, user } : s)),
        onText: (text) => setStreaming((s) => (s ? { ...s, text } : s)),
      }),
    )
    setStreaming(null)
    if (!exchange) return
    setMessages((previous) => [...previous, exchange.user_message, exchange.assistant_message])
    setComposer('')
  }

  const script = mode === 'editor' ? buffer : (selected?.script ?? '')
  // The drafter's typed parameters where it gave them (the chosen answer's, or the
  // latest answer's in the editor), else a required string per `{{name}}`.
  const typed = useMemo(() => {
    if (mode === 'ai') return selected?.parameters ?? []
    const answers = conversation.filter((m) => m.role === 'assistant' && m.parameters?.length)
    return answers.at(-1)?.parameters ?? fix.script_parameters
  }, [mode, selected, conversation, fix.script_parameters])
  const parameters = useMemo(() => api.draftedParameters(placeholders(script), typed), [script, typed])
  const values = useMemo(() => valuesFrom(parameters, parameterValues), [parameters, parameterValues])

  async function submit(): Promise<void> {
    if (!script.trim()) return
    const updated = await submitting.run(() =>
      api.submitFixScript(fix, script, parameters, toRenderValues(parameters, values), signal.current.signal),
    )
    if (!updated) return
    // The draft is done: clear it so the dot clears and nothing stale resumes.
    if (pendingSave.current !== null) window.clearTimeout(pendingSave.current)
    pendingSave.current = null
    setBuffer('')
    setSelected(null)
    if (builder) {
      forgetDraft(builder.id, fix.id)
      void trackSave(api.saveDraft(builder.id, { editor_buffer: '', mode: 'ai' })).catch(() => undefined)
    }
    onScriptDrafted(updated)
  }

  const headingId = `${ids}-heading`
  if (loadError) {
    return (
      <section className="sb-tab" aria-labelledby={headingId}>
        <h2 id={headingId} ref={headingRef} tabIndex={-1}>
          Script Builder · {fix.title}
        </h2>
        <LoadFailed error={loadError} onRetry={() => setAttempt((a) => a + 1)} what="the Script Builder" />
      </section>
    )
  }

  return (
    <section className="sb-tab" aria-labelledby={headingId}>
      <header className="sb-tab__header">
        <h2 id={headingId} ref={headingRef} tabIndex={-1}>
          Script Builder · {fix.title}
        </h2>
        <div className="toolbar" role="toolbar" aria-label="Script Builder mode">
          {mode === 'ai' ? (
            <button type="button" onClick={() => switchMode('editor')} disabled={!builder}>
              ✎ Write myself
            </button>
          ) : (
            <button type="button" onClick={() => switchMode('ai')} disabled={!builder}>
              ✨ Back to AI
            </button>
          )}
        </div>
      </header>
      <p className="hint">
        Drafting for this fix, in {LANGUAGE_LABEL[builder?.language ?? fix.script_language]}. {fix.description}
      </p>
      {!builder ? (
        <Loading what="the Script Builder" />
      ) : (
        <>
          <div className="sb-mode" hidden={mode !== 'ai'}>
            <ScriptBuilderChat
              messages={streaming?.user ? [...conversation, streaming.user] : conversation}
              isLoading={sending.busy}
              pendingText={streaming?.text ?? ''}
              onUseScript={(message) => setSelected(message)}
              selectedMessageId={selected?.id ?? null}
              emptyText="Describe what the script should do; the drafter answers with a script you can use."
            />
            <form
              className="composer"
              onSubmit={(event) => {
                event.preventDefault()
                void send()
              }}
            >
              <label htmlFor={`${ids}-composer`}>Message the drafter</label>
              <div className="composer-row">
                <textarea
                  id={`${ids}-composer`}
                  value={composer}
                  onChange={(e) => setComposer(e.target.value)}
                  rows={2}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                      e.preventDefault()
                      void send()
                    }
                  }}
                />
                <button type="submit" disabled={sending.busy || !composer.trim()}>
                  Send
                </button>
              </div>
              <ErrorNote error={sending.error} onRetry={() => void send()} />
            </form>
          </div>
          {editorLoaded ? (
            <div className="sb-mode" hidden={mode !== 'editor'}>
              <Suspense fallback={<Loading what="the editor" />}>
                <CodeEditor
                  key={editorGeneration}
                  initialValue={buffer}
                  language={fix.script_language}
                  onChange={changeBuffer}
                  label={`Script for ${fix.title}`}
                />
              </Suspense>
              <p className="hint">In the editor, Tab indents; press Ctrl+M first to move focus with Tab.</p>
            </div>
          ) : null}
          <ErrorNote error={saving.error} onRetry={() => persist({ editor_buffer: buffer, mode })} />
          <div className="submit-area">
            {mode === 'ai' && !selected ? (
              <p className="hint">Choose “Use this script” on a drafted answer, or write it yourself.</p>
            ) : null}
            {mode === 'ai' && selected ? (
              <p className="hint">Using the script from the drafter's answer.</p>
            ) : null}
            {parameters.length ? (
              <fieldset className="parameters">
                <legend>Parameters (values for this fix; leave blank to give them when it runs)</legend>
                <ParameterForm parameters={parameters} values={values} onChange={setParameterValues} />
              </fieldset>
            ) : null}
            <div className="actions">
              <button
                type="button"
                className="primary"
                onClick={() => void submit()}
                disabled={submitting.busy || !script.trim()}
                aria-describedby={submitting.error ? `${ids}-submit-error` : undefined}
              >
                Submit
              </button>
              <ErrorNote id={`${ids}-submit-error`} error={submitting.error} onRetry={() => void submit()} />
            </div>
          </div>
        </>
      )}
    </section>
  )
}
