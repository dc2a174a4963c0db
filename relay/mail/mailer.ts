/**
 * Outgoing e-mail. The relay sends through the MSP's SMTP server (nodemailer); tests run a real SMTP server
 * on loopback (`smtp-server`). The relay's one mailer is injected as `deps.mailer`; without it, features that
 * e-mail (magic links, notifications, digests) log that mail is not configured and send nothing.
 */
import { createTransport } from "nodemailer";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  readonly from: string;
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export interface SmtpOptions {
  /** `smtp://host:port` or `smtps://host:port`; credentials, if any, come from `user`/`pass`. */
  url: string;
  from: string;
  user?: string;
  pass?: string;
  /** Accept a self-signed certificate (loopback tests only). */
  allowSelfSigned?: boolean;
}

export function smtpMailer(opts: SmtpOptions): Mailer {
  const u = new URL(opts.url);
  if (u.protocol !== "smtp:" && u.protocol !== "smtps:") throw new TypeError(`SMTP URL must start with smtp:// or smtps://: current value is ${JSON.stringify(opts.url)}`);
  const transport = createTransport({
    host: u.hostname,
    port: Number(u.port || (u.protocol === "smtps:" ? 465 : 587)),
    secure: u.protocol === "smtps:",
    ...(opts.user ? { auth: { user: opts.user, pass: opts.pass ?? "" } } : {}),
    tls: { rejectUnauthorized: !opts.allowSelfSigned },
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return {
    from: opts.from,
    async send(m) {
      await transport.sendMail({ from: opts.from, to: m.to, subject: m.subject, text: m.text, ...(m.html ? { html: m.html } : {}) });
    },
    close: () => transport.close(),
  };
}
