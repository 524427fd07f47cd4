// The WAI-ARIA tabs pattern: arrow keys, Home and End move between the tabs
// (automatic activation); Tab leaves the tablist for the visible panel.
import { useRef, type KeyboardEvent } from 'react'

export type ChatTab = 'chat' | 'script_builder'

export const TAB_IDS: Record<ChatTab, { tab: string; panel: string }> = {
  chat: { tab: 'chat-tab-chat', panel: 'chat-panel-chat' },
  script_builder: { tab: 'chat-tab-script-builder', panel: 'chat-panel-script-builder' },
}

const ORDER: ChatTab[] = ['chat', 'script_builder']

export function ChatTabStrip({
  active,
  onSelect,
  draftInProgress,
}: {
  active: ChatTab
  onSelect: (tab: ChatTab) => void
  draftInProgress: boolean
}) {
  const refs = useRef<Record<ChatTab, HTMLButtonElement | null>>({ chat: null, script_builder: null })

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>): void {
    const index = ORDER.indexOf(active)
    let next: ChatTab | null = null
    if (event.key === 'ArrowRight') next = ORDER[(index + 1) % ORDER.length]
    else if (event.key === 'ArrowLeft') next = ORDER[(index - 1 + ORDER.length) % ORDER.length]
    else if (event.key === 'Home') next = ORDER[0]
    else if (event.key === 'End') next = ORDER[ORDER.length - 1]
    if (!next) return
    event.preventDefault()
    onSelect(next)
    refs.current[next]?.focus()
  }

  return (
    <div className="tab-strip" role="tablist" aria-label="Chat region" onKeyDown={onKeyDown}>
      {ORDER.map((tab) => {
        const selected = tab === active
        const label = tab === 'chat' ? 'Chat' : 'Script Builder'
        const dot = tab === 'script_builder' && draftInProgress
        return (
          <button
            key={tab}
            ref={(el) => {
              refs.current[tab] = el
            }}
            type="button"
            role="tab"
            id={TAB_IDS[tab].tab}
            aria-selected={selected}
            aria-controls={TAB_IDS[tab].panel}
            aria-label={dot ? `${label}, draft in progress` : undefined}
            tabIndex={selected ? 0 : -1}
            className={`tab${selected ? ' tab--selected' : ''}`}
            onClick={() => onSelect(tab)}
          >
            {label}
            {dot ? <span className="tab-dot" aria-hidden="true" data-testid="draft-dot" /> : null}
          </button>
        )
      })}
    </div>
  )
}
