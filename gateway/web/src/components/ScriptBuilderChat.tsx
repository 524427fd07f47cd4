// Presentational: a drafting conversation. It knows nothing about where a
// script goes; the controller decides what "Use this script" does.
import { useEffect, useRef } from 'react'
import type { BuilderMessage } from '../api/types'
import { splitFences } from '../lib/scripts'
import { formatTime } from '../lib/words'

export function ScriptBuilderChat({
  messages,
  isLoading,
  onUseScript,
  selectedMessageId,
  useLabel = 'Use this script',
  emptyText,
  pendingText = '',
}: {
  messages: BuilderMessage[]
  isLoading: boolean
  onUseScript?: (message: BuilderMessage) => void
  selectedMessageId?: string | null
  useLabel?: string
  emptyText: string
  /** The answer's text so far, while it streams in. */
  pendingText?: string
}) {
  const end = useRef<HTMLLIElement>(null)
  useEffect(() => {
    end.current?.scrollIntoView?.({ block: 'nearest' })
  }, [messages.length, isLoading, pendingText.length > 0])

  return (
    <ol className="conversation" aria-label="Drafting conversation" aria-live="polite">
      {messages.length === 0 && !isLoading ? <li className="hint">{emptyText}</li> : null}
      {messages.map((message) => (
        <li key={message.id} className={`message message--${message.role}`}>
          <p className="message-meta">
            <span>{message.role === 'user' ? 'You' : 'Drafter'}</span>{' '}
            <time dateTime={message.created_at}>{formatTime(message.created_at)}</time>
          </p>
          {message.role === 'assistant' ? (
            splitFences(message.content).map((part, index) =>
              part.kind === 'code' ? (
                <pre key={index} className="code" role="group" tabIndex={0} aria-label="Drafted script">
                  <code>{part.text}</code>
                </pre>
              ) : (
                <p key={index} className="message-text">
                  {part.text.trim()}
                </p>
              ),
            )
          ) : (
            <p className="message-text">{message.content}</p>
          )}
          {message.role === 'assistant' && message.script && onUseScript ? (
            <div className="message-actions">
              <button
                type="button"
                className={selectedMessageId === message.id ? 'primary' : ''}
                aria-pressed={selectedMessageId === message.id}
                onClick={() => onUseScript(message)}
              >
                {useLabel}
              </button>
            </div>
          ) : null}
        </li>
      ))}
      {isLoading ? (
        <li className="message message--pending">
          <p role="status">The drafter is writing…</p>
          {pendingText ? (
            <p className="message-text stream-text" data-testid="streaming-answer" aria-hidden="true">
              {pendingText}
            </p>
          ) : null}
        </li>
      ) : null}
      <li ref={end} className="conversation-end" aria-hidden="true" />
    </ol>
  )
}
