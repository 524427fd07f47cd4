import { useEffect, useId, useState } from 'react'
import * as api from '../api/client'
import { ErrorNote, LoadFailed, Loading } from '../components/ErrorNote'
import { markFirstRender } from '../firstRender'
import { useAction, useLoader } from '../lib/hooks'
import { formatTime } from '../lib/words'
import { Link, navigate } from '../router'

export function SessionsPage({ canWrite }: { canWrite: boolean }) {
  const ids = useId()
  const sessions = useLoader((signal) => api.listAiSessions(signal), [])
  const create = useAction()
  const [formOpen, setFormOpen] = useState(false)
  const [title, setTitle] = useState('')

  useEffect(() => {
    if (sessions.data || sessions.error) markFirstRender()
  }, [sessions.data, sessions.error])

  async function onCreate(): Promise<void> {
    const created = await create.run(() => api.createAiSession(title.trim()))
    if (created) navigate(`/ai-sessions/${created.id}`)
  }

  return (
    <div className="page">
      <div className="page-head">
        <h1 tabIndex={-1}>AI sessions</h1>
        {canWrite ? (
          <button
            type="button"
            className="primary"
            aria-expanded={formOpen}
            aria-controls={`${ids}-new`}
            onClick={() => setFormOpen((open) => !open)}
          >
            New session
          </button>
        ) : null}
      </div>
      {formOpen ? (
        <form
          id={`${ids}-new`}
          className="panel inline-form"
          onSubmit={(event) => {
            event.preventDefault()
            void onCreate()
          }}
        >
          <label htmlFor={`${ids}-title`}>What is the ticket about?</label>
          <div className="composer-row">
            <input
              id={`${ids}-title`}
              value={title}
              onChange={(e) => setTitle(e.target.value)}
              required
              autoFocus
              placeholder="e.g. Outlook crashes on start"
            />
            <button type="submit" className="primary" disabled={create.busy || !title.trim()}>
              Create
            </button>
          </div>
          <ErrorNote error={create.error} onRetry={() => void onCreate()} />
        </form>
      ) : null}
      {sessions.loading && !sessions.data ? <Loading what="your sessions" /> : null}
      {sessions.error ? <LoadFailed error={sessions.error} onRetry={sessions.reload} what="your sessions" /> : null}
      {sessions.data ? (
        sessions.data.length === 0 ? (
          <p className="empty">No AI sessions yet. Start one with “New session”.</p>
        ) : (
          <table className="table">
            <caption className="visually-hidden">Your AI sessions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Session</th>
                <th scope="col">Status</th>
                <th scope="col">Last change</th>
              </tr>
            </thead>
            <tbody>
              {sessions.data.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={`/ai-sessions/${s.id}`}>{s.title}</Link>
                  </td>
                  <td>
                    <span className={`badge badge--session-${s.status}`}>{s.status}</span>
                  </td>
                  <td>
                    <time dateTime={s.updated_at}>{formatTime(s.updated_at)}</time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : null}
    </div>
  )
}
