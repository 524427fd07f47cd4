// The template library of the account: a draft/published filter, publish,
// and a render preview with the typed parameter form.
import { useEffect, useId, useState } from 'react'
import * as api from '../api/client'
import type { RenderedScript, ScriptTemplate, TemplateStatus } from '../api/types'
import { CopyButton } from '../components/CopyButton'
import { ErrorNote, LoadFailed, Loading } from '../components/ErrorNote'
import { initialValues, ParameterForm, toRenderValues, type ParameterValues } from '../components/ParameterForm'
import { markFirstRender } from '../firstRender'
import { useAction, useLoader } from '../lib/hooks'
import { formatTime, LANGUAGE_LABEL } from '../lib/words'

type Filter = 'all' | TemplateStatus
const FILTERS: { value: Filter; label: string }[] = [
  { value: 'all', label: 'All' },
  { value: 'draft', label: 'Drafts' },
  { value: 'published', label: 'Published' },
]

export function TemplatesPage({ canWrite }: { canWrite: boolean }) {
  const ids = useId()
  const [filter, setFilter] = useState<Filter>('all')
  const [extra, setExtra] = useState<ScriptTemplate[]>([])
  const [nextToken, setNextToken] = useState('')
  const page = useLoader(
    (signal) => api.listTemplates({ status: filter === 'all' ? null : filter }, signal),
    [filter],
  )
  const more = useAction()
  const [previewId, setPreviewId] = useState<string | null>(null)
  const [updated, setUpdated] = useState<Record<string, ScriptTemplate>>({})

  useEffect(() => {
    setExtra([])
    setNextToken(page.data?.next_page_token ?? '')
    if (page.data || page.error) markFirstRender()
  }, [page.data, page.error])

  async function loadMore(): Promise<void> {
    const result = await more.run(() =>
      api.listTemplates({ status: filter === 'all' ? null : filter, pageToken: nextToken }),
    )
    if (!result) return
    setExtra((previous) => [...previous, ...result.templates])
    setNextToken(result.next_page_token)
  }

  const templates = [...(page.data?.templates ?? []), ...extra].map((t) => updated[t.id] ?? t)

  return (
    <div className="page">
      <div className="page-head">
        <h1 tabIndex={-1}>Script templates</h1>
      </div>
      <fieldset className="filter">
        <legend>Show</legend>
        {FILTERS.map((f) => (
          <label className="radio" key={f.value}>
            <input
              type="radio"
              name={`${ids}-filter`}
              value={f.value}
              checked={filter === f.value}
              onChange={() => setFilter(f.value)}
            />
            {f.label}
          </label>
        ))}
      </fieldset>
      {page.loading && !page.data ? <Loading what="templates" /> : null}
      {page.error ? <LoadFailed error={page.error} onRetry={page.reload} what="the templates" /> : null}
      {page.data && templates.length === 0 ? (
        <p className="empty">
          No templates here yet. Save one from the Script Builder, or choose “Run now, templatize after” on a fix.
        </p>
      ) : null}
      {templates.length ? (
        <ul className="template-list" aria-label="Templates">
          {templates.map((t) => (
            <TemplateRow
              key={t.id}
              template={t}
              canWrite={canWrite}
              previewOpen={previewId === t.id}
              onTogglePreview={() => setPreviewId(previewId === t.id ? null : t.id)}
              onPublished={(p) => setUpdated((u) => ({ ...u, [p.id]: p }))}
            />
          ))}
        </ul>
      ) : null}
      {nextToken ? (
        <div className="actions">
          <button type="button" onClick={() => void loadMore()} disabled={more.busy}>
            Load more
          </button>
          <ErrorNote error={more.error} onRetry={() => void loadMore()} />
        </div>
      ) : null}
    </div>
  )
}

function TemplateRow({
  template,
  canWrite,
  previewOpen,
  onTogglePreview,
  onPublished,
}: {
  template: ScriptTemplate
  canWrite: boolean
  previewOpen: boolean
  onTogglePreview: () => void
  onPublished: (template: ScriptTemplate) => void
}) {
  const ids = useId()
  const publish = useAction()

  async function onPublish(): Promise<void> {
    const published = await publish.run(() => api.publishTemplate(template.id))
    if (published) onPublished(published)
  }

  return (
    <li className="template-item" aria-labelledby={`${ids}-name`}>
      <div className="template-head">
        <h2 id={`${ids}-name`} className="template-name">
          {template.name}
        </h2>
        <span className={`badge badge--template-${template.status}`}>{template.status}</span>
        <span className="hint">
          {LANGUAGE_LABEL[template.language]} · {template.parameters.length} parameter
          {template.parameters.length === 1 ? '' : 's'} · {formatTime(template.created_at)}
        </span>
        <div className="actions">
          <button type="button" aria-expanded={previewOpen} aria-controls={`${ids}-preview`} onClick={onTogglePreview}>
            Preview
          </button>
          {canWrite && template.status === 'draft' ? (
            <button type="button" className="primary" onClick={() => void onPublish()} disabled={publish.busy}>
              Publish
            </button>
          ) : null}
        </div>
      </div>
      {template.description ? <p className="hint">{template.description}</p> : null}
      <ErrorNote error={publish.error} onRetry={() => void onPublish()} />
      {previewOpen ? <RenderPreview id={`${ids}-preview`} template={template} /> : null}
    </li>
  )
}

function RenderPreview({ id, template }: { id: string; template: ScriptTemplate }) {
  const [values, setValues] = useState<ParameterValues>(() => initialValues(template.parameters))
  const [rendered, setRendered] = useState<RenderedScript | null>(null)
  const generate = useAction()

  async function onGenerate(): Promise<void> {
    const result = await generate.run(() =>
      api.renderTemplate(template.id, toRenderValues(template.parameters, values)),
    )
    if (result) setRendered(result)
  }

  return (
    <form
      id={id}
      className="render-preview"
      aria-label={`Preview of ${template.name}`}
      onSubmit={(event) => {
        event.preventDefault()
        void onGenerate()
      }}
    >
      <pre className="code code--scroll" role="group" tabIndex={0} aria-label="Template body">
        <code>{template.body}</code>
      </pre>
      <ParameterForm parameters={template.parameters} values={values} onChange={setValues} />
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
    </form>
  )
}
