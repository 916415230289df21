//! PDF → text with the `pdf-extract` crate. Malformed PDFs make that crate panic at times, so the call is
//! isolated with `catch_unwind`: a PDF that cannot be read yields no text (the raw bytes stay recorded).
use super::Extracted;

/// Whether `body` (with its declared type) is a PDF.
pub fn is_pdf(body: &[u8], essence: &str) -> bool {
    essence == "application/pdf" || body.starts_with(b"%PDF-")
}

/// Text of a PDF; the first non-empty line doubles as the title. Empty when the PDF cannot be read.
pub fn extract_pdf(body: &[u8], max_text: usize) -> Extracted {
    quiet_pdf_panics();
    let text = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(body));
    let Ok(Ok(text)) = text else { return Extracted::default() };
    let mut lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines.dedup_by(|a, b| a.is_empty() && b.is_empty());
    let mut text = lines.join("\n").trim().to_string();
    text.truncate((0..=max_text.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0));
    let title = text.lines().find(|l| !l.is_empty()).unwrap_or("").chars().take(200).collect();
    Extracted { title, text, lang: None }
}

/// Installs (once) a panic hook that stays silent for panics raised inside the PDF crates, which
/// [`extract_pdf`] catches, and defers to the previous hook for everything else.
fn quiet_pdf_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let file = info.location().map(|l| l.file()).unwrap_or("");
            if !(file.contains("pdf-extract") || file.contains("lopdf") || file.contains("pdf_extract")) {
                previous(info);
            }
        }));
    });
}
