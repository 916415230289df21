//! Filler prose for padding pages: plausible encyclopaedia sentences that state no facts (no
//! numbers, no other entity's name), so they never change a question's answer.
use super::rng::Rng;

const HEADINGS: &[&str] = &["Background", "Reception", "Legacy", "History", "Overview", "Notes", "In popular culture"];
const SOURCES: &[&str] =
    &["archives", "newspaper articles", "memoirs", "local histories", "academic studies", "letters"];
const QUALITIES: &[&str] = &["remarkable", "unusual", "controversial", "modest", "influential", "overlooked"];
const GROUPS: &[&str] = &["historians", "critics", "local residents", "contemporaries", "later scholars", "visitors"];
const TOPICS: &[&str] =
    &["its origins", "the early years", "the surrounding region", "public opinion", "the archive", "later revisions"];

/// A section heading for filler text.
pub fn heading(r: &mut Rng) -> &'static str {
    r.word(HEADINGS)
}

fn sentence(subject: &str, r: &mut Rng) -> String {
    let (src, q, g, top) = (r.word(SOURCES), r.word(QUALITIES), r.word(GROUPS), r.word(TOPICS));
    match r.below(16) {
        0 => format!("{subject} is mentioned in several {src}."),
        1 => format!("Many {g} have described the story of {subject} as {q}."),
        2 => format!("Little is known about {top}, and the surviving {src} are incomplete."),
        3 => format!("According to {src}, {g} held differing views on {top}."),
        4 => format!("Some {g} regard {subject} as {q}, while others disagree."),
        5 => format!("A detailed account of {top} can be found in the {src} kept by {g}."),
        6 => format!("The reputation of {subject} grew steadily among {g}."),
        7 => "Further research is needed to confirm several of these claims.".to_string(),
        8 => format!("Discussions of {top} appear frequently in {src}."),
        9 => format!("This {q} aspect is rarely noted by {g}."),
        10 => format!("{subject} remains {} {q} subject of study.", super::pages::article(q)),
        11 => format!("Accounts of {top} differ between the {src} and the recollections of {g}."),
        12 => format!("In the view of {g}, the significance of {subject} lies in {top}."),
        13 => format!("A number of {src} concerning {subject} were rediscovered by {g}."),
        14 => format!("Few {g} were aware of {top} until the {src} were catalogued."),
        _ => format!("The {src} describe {top} only briefly."),
    }
}

/// A paragraph of 3 to 6 filler sentences about `subject`.
pub fn paragraph(subject: &str, r: &mut Rng) -> String {
    let n = 3 + r.below(4);
    let mut out: Vec<String> = Vec::with_capacity(n);
    for k in 0..n * 2 {
        if out.len() == n {
            break;
        }
        let subj = if k == 0 || r.chance(0.3) { subject } else { "the subject" };
        let mut s = sentence(subj, r);
        if let Some(first) = s.get(..1) {
            let upper = first.to_uppercase();
            s.replace_range(..1, &upper);
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filler_has_no_digits() {
        let mut r = Rng::new(5);
        for _ in 0..200 {
            let p = paragraph("Zoë Lenz", &mut r);
            assert!(!p.chars().any(|c| c.is_ascii_digit()), "{p}");
        }
    }
}
