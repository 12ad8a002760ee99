/**
 * Writing text into XML: the one set of escaping rules every XML the gateway writes uses (SOAP
 * requests and Faults, WSDL documents, WS-Security headers, the sandbox peers' documents), and the
 * forms the secret scrubber looks for.
 */

/** A character XML 1.0 cannot carry at all, not even as a character reference. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Whether text holds a character XML 1.0 cannot carry (the writer then refuses it or replaces it). */
export function hasNonXmlChar(text: string): boolean {
  return NOT_XML_CHAR.test(text);
}

const TEXT_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };

/**
 * Element content. `>` is escaped too (a value holding `]]>` would otherwise be malformed), and a
 * carriage return becomes a reference, since a parser turns a literal CR (or CR LF) into LF.
 */
export function escapeXmlText(text: string): string {
  return text.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c] ?? c);
}

const ATTRIBUTE_ESCAPES: Readonly<Record<string, string>> = {
  ...TEXT_ESCAPES,
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
};

/**
 * An attribute value, whichever quote encloses it. Tab and line ends become references, since a
 * parser normalizes them to spaces in attribute values.
 */
export function escapeXmlAttribute(text: string): string {
  return text.replace(/[&<>"'\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c] ?? c);
}
