/**
 * The one confirmation step of the dashboard's destructive actions (revoke, disable, delete, retire): a Lit
 * reactive controller that renders the action's button and, once it is pressed, in its place what will
 * happen in words with "Yes, <verb>" and "Keep". Nothing is sent before "Yes"; "Keep" or Escape puts the
 * button back. At most one action per page waits for its answer, and focus moves to "Keep" (the safe answer)
 * so a keyboard user hears the question and cannot confirm by pressing Enter twice.
 *
 *   readonly #confirm = new Confirm(this);
 *   this.#confirm.button(`key-${k.id}`, { verb: "Revoke", target: k.name, consequence: "Anything still using it is refused." }, () => this.#revoke(k));
 */
import { html, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from "lit";

/** What a destructive action does, in the words its confirmation uses. */
export interface ConfirmAction {
  /** The button's verb: "Revoke", "Disable", "Delete". "Yes, <verb in lower case>" confirms. */
  verb: string;
  /** What it acts on, as the user knows it (a name, an e-mail address); read out with every button. */
  target: string;
  /** What will happen, in a sentence: shown (and announced) before anything is sent. */
  consequence: string;
}

type Host = ReactiveControllerHost & { renderRoot: HTMLElement | DocumentFragment };

export class Confirm implements ReactiveController {
  readonly #host: Host;
  /** The action waiting for its answer, by the key its page gave it. */
  #open: string | null = null;
  #focusKeep = false;

  constructor(host: Host) {
    this.#host = host;
    host.addController(this);
  }

  hostUpdated(): void {
    if (!this.#focusKeep) return;
    this.#focusKeep = false;
    this.#host.renderRoot.querySelector<HTMLElement>("[data-confirm-keep]")?.focus();
  }

  /** Which action waits for its answer (null: none). */
  get open(): string | null {
    return this.#open;
  }

  /** Puts the action's button back without doing anything. */
  cancel(): void {
    this.#open = null;
    this.#host.requestUpdate();
  }

  /**
   * The action's button, or its question when it was pressed. `run` gets the "Yes" click (its target is
   * inside the same form as the button was, for actions that read a note from it). With `validate`, the
   * button's form must be valid before the question is asked: the browser says what is missing instead.
   */
  button(key: string, action: ConfirmAction, run: (e: Event) => unknown, opts: { disabled?: boolean; validate?: boolean } = {}): TemplateResult {
    const sr = html`<span class="sr-only"> ${action.target}</span>`;
    if (this.#open !== key) {
      const ask = (e: Event): void => {
        if (opts.validate && !((e.currentTarget as HTMLButtonElement).form?.reportValidity() ?? true)) return;
        this.#ask(key);
      };
      return html`<button type="button" class="danger" ?disabled=${opts.disabled ?? false} @click=${ask}>${action.verb}${sr}</button>`;
    }
    const id = `confirm-${key.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    return html`<span class="confirm" role="group" aria-labelledby=${id} @keydown=${(e: KeyboardEvent) => e.key === "Escape" && this.cancel()}>
      <span class="confirm-text" id=${id} role="status">${action.verb} ${action.target}? ${action.consequence}</span>
      <button type="button" class="danger" aria-describedby=${id} @click=${(e: Event) => ((this.#open = null), this.#host.requestUpdate(), run(e))}>Yes, ${action.verb.toLowerCase()}${sr}</button>
      <button type="button" class="secondary" data-confirm-keep aria-describedby=${id} @click=${() => this.cancel()}>Keep${sr}</button>
    </span>`;
  }

  #ask(key: string): void {
    this.#open = key;
    this.#focusKeep = true;
    this.#host.requestUpdate();
  }
}
