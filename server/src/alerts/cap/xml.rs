//! A small, bounded XML tree reader for CAP import: elements with their
//! namespace and text, nothing else. It refuses DOCTYPEs and undefined
//! entities (no entity expansion attacks), and caps depth and element
//! count; attributes, comments and processing instructions are ignored.

use super::CapError;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// Deepest nesting accepted (a CAP alert needs 5; XML signatures a few more).
const MAX_DEPTH: usize = 24;
/// Most elements accepted in one document.
const MAX_ELEMENTS: usize = 20_000;

/// One element: its namespace URI (if any), local name, direct text and children.
#[derive(Debug, Default)]
pub(super) struct Element {
    pub ns: Option<String>,
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

/// Reads a whole document into its root element.
///
/// # Errors
/// [`CapError::Malformed`] for anything that is not one well-formed,
/// DOCTYPE-free, reasonably sized XML element tree.
pub(super) fn parse(input: &str) -> Result<Element, CapError> {
    let bad = |msg: String| CapError::Malformed(msg);
    let mut reader = NsReader::from_str(input);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;

    loop {
        let position = reader.buffer_position();
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| bad(format!("{e} (near byte {position})")))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(bad("more than one root element".into()));
                }
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(bad(format!("more than {MAX_ELEMENTS} elements")));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(bad(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                let ns = match ns {
                    ResolveResult::Bound(n) => Some(utf8(n.into_inner())?),
                    ResolveResult::Unbound => None,
                    ResolveResult::Unknown(prefix) => {
                        return Err(bad(format!(
                            "undeclared namespace prefix `{}`",
                            String::from_utf8_lossy(&prefix)
                        )))
                    }
                };
                let name = utf8(start.local_name().into_inner())?;
                stack.push(Element {
                    ns,
                    name,
                    ..Element::default()
                });
            }
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| bad("closing tag without an opening one".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(text) => {
                let s = text
                    .xml10_content()
                    .map_err(|e| bad(format!("undecodable text: {e}")))?;
                push_text(&mut stack, &s)?;
            }
            Event::CData(data) => {
                let s = data
                    .xml10_content()
                    .map_err(|e| bad(format!("undecodable CDATA: {e}")))?;
                push_text(&mut stack, &s)?;
            }
            Event::GeneralRef(reference) => {
                let resolved = if reference.is_char_ref() {
                    match reference.resolve_char_ref() {
                        Ok(Some(c)) if is_xml_char(c) => c.to_string(),
                        _ => return Err(bad("invalid character reference".into())),
                    }
                } else {
                    let name = utf8(&reference)?;
                    match resolve_predefined_entity(&name) {
                        Some(s) => s.to_string(),
                        None => {
                            return Err(bad(format!(
                                "undefined entity `&{}`",
                                name.chars().take(40).collect::<String>()
                            )))
                        }
                    }
                };
                push_text(&mut stack, &resolved)?;
            }
            Event::DocType(_) => {
                return Err(bad("DOCTYPE declarations are not accepted".into()));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Empty(_) => {
                // Not produced: empty elements are expanded to Start + End.
                return Err(bad("unexpected empty element event".into()));
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(bad(format!(
            "<{}> is never closed",
            stack[stack.len() - 1].name
        )));
    }
    root.ok_or_else(|| bad("no root element".into()))
}

/// Appends text to the open element; text outside the root must be blank.
fn push_text(stack: &mut [Element], s: &str) -> Result<(), CapError> {
    match stack.last_mut() {
        Some(el) => {
            el.text.push_str(s);
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err(CapError::Malformed("text outside the root element".into())),
    }
}

fn utf8(bytes: &[u8]) -> Result<String, CapError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| CapError::Malformed("name is not UTF-8".into()))
}

/// Characters XML 1.0 allows in a document.
pub(super) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}
