//! What each page says: entity pages (infobox, fact-stating prose, related links, filler), the home
//! page, paginated category pages, list pages and `/about`. Rendering is [`super::html`]'s job.
use super::html::{a, render, t, Block, Layout, Rich};
use super::names::slugify;
use super::rng::Rng;
use super::world::{Entity, Facts};
use super::SimPage;
use crate::error::Result;

/// Entries per category page.
const PER_PAGE: usize = 100;
/// Most related entities listed in one "see also" style section.
const MAX_BACKREFS: usize = 12;
/// Entity pages are padded with filler up to a size in this range (bytes of HTML).
const PAGE_BYTES: (i64, i64) = (2_400, 8_000);
const MAX_PAGE_BYTES: usize = 10_000;

/// Who points at whom, for "born here" / "staff" / "works" sections.
struct Backrefs {
    born_in: Vec<Vec<usize>>,
    staff: Vec<Vec<usize>>,
    hq_of: Vec<Vec<usize>>,
    founded: Vec<Vec<usize>>,
    works: Vec<Vec<usize>>,
}

impl Backrefs {
    fn new(ents: &[Entity]) -> Backrefs {
        let n = ents.len();
        let mut b = Backrefs {
            born_in: vec![Vec::new(); n],
            staff: vec![Vec::new(); n],
            hq_of: vec![Vec::new(); n],
            founded: vec![Vec::new(); n],
            works: vec![Vec::new(); n],
        };
        for (i, e) in ents.iter().enumerate() {
            match e.facts {
                Facts::Person { birthplace, employer, .. } => {
                    b.born_in[birthplace].push(i);
                    b.staff[employer].push(i);
                }
                Facts::Organisation { headquarters, founder, .. } => {
                    b.hq_of[headquarters].push(i);
                    b.founded[founder].push(i);
                }
                Facts::Work { creator, .. } => b.works[creator].push(i),
                Facts::Place { .. } => {}
            }
        }
        b
    }
}

fn link(e: &Entity) -> super::html::Inline {
    a(&e.path, &e.name)
}

/// Bulleted links to `ids` (at most [`MAX_BACKREFS`]), under `heading`; nothing if empty.
fn link_section(blocks: &mut Vec<Block>, heading: &str, ids: &[usize], ents: &[Entity]) {
    if ids.is_empty() {
        return;
    }
    blocks.push(Block::Heading(heading.to_string()));
    blocks.push(Block::List(ids.iter().take(MAX_BACKREFS).map(|&i| vec![link(&ents[i])]).collect()));
}

/// Display name, with the romanisation for CJK names: "北山 (Beishan)".
fn full_name(e: &Entity) -> String {
    match &e.roman {
        Some(r) => format!("{} ({r})", e.name),
        None => e.name.clone(),
    }
}

/// "1234567" → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn person_blocks(i: usize, ents: &[Entity], br: &Backrefs, r: &mut Rng) -> Vec<Block> {
    let e = &ents[i];
    let Facts::Person { birth_year: y, birthplace, employer, notable_work, occupation } = e.facts else {
        return Vec::new();
    };
    let (place, org) = (&ents[birthplace], &ents[employer]);
    let mut info = vec![("Born".to_string(), vec![t(y.to_string())]), ("Birthplace".into(), vec![link(place)])];
    info.push(("Occupation".into(), vec![t(occupation)]));
    info.push(("Employer".into(), vec![link(org)]));
    let mut lead: Rich = vec![t(format!("{} was {} {occupation} ", e.name, article(occupation)))];
    if r.chance(0.5) {
        lead.extend([t(format!("born in {y} in ")), link(place), t(".")]);
    } else {
        lead.extend([t("from "), link(place), t(format!(". {} was born there in {y}.", e.name))]);
    }
    let mut blocks = vec![Block::Para(lead), Block::Heading("Career".into())];
    let mut career: Rich = vec![t(format!("{} worked for ", e.name)), link(org), t(" for many years.")];
    if let Some(w) = notable_work {
        info.push(("Notable work".into(), vec![link(&ents[w])]));
        career.extend([t(" The best-known work of this career is "), link(&ents[w]), t(".")]);
    }
    for &o in br.founded[i].iter().take(MAX_BACKREFS) {
        career.extend([t(format!(" {} also founded ", e.name)), link(&ents[o]), t(".")]);
    }
    blocks.insert(0, Block::Infobox(info));
    blocks.push(Block::Para(career));
    link_section(&mut blocks, "Works", &br.works[i], ents);
    blocks
}

fn place_blocks(i: usize, ents: &[Entity], br: &Backrefs) -> Vec<Block> {
    let e = &ents[i];
    let Facts::Place { country, population, founded } = &e.facts else { return Vec::new() };
    let pop = thousands(*population);
    let info = vec![
        ("Country".to_string(), vec![t(country.clone())]),
        ("Founded".into(), vec![t(founded.to_string())]),
        ("Population".into(), vec![t(pop.clone())]),
    ];
    let lead = vec![t(format!(
        "{} is a town in {country}. It was founded in {founded} and today has a population of {pop}.",
        full_name(e)
    ))];
    let more = vec![t("See also: "), a(&country_list_path(country), &format!("Places in {country}"))];
    let mut blocks = vec![Block::Infobox(info), Block::Para(lead), Block::Para(more)];
    link_section(&mut blocks, "Notable people born here", &br.born_in[i], ents);
    link_section(&mut blocks, "Organisations based here", &br.hq_of[i], ents);
    blocks
}

fn org_blocks(i: usize, ents: &[Entity], br: &Backrefs) -> Vec<Block> {
    let e = &ents[i];
    let Facts::Organisation { founded, headquarters, founder, industry } = e.facts else { return Vec::new() };
    let (hq, f) = (&ents[headquarters], &ents[founder]);
    let info = vec![
        ("Industry".to_string(), vec![t(industry)]),
        ("Founded".into(), vec![t(founded.to_string())]),
        ("Founder".into(), vec![link(f)]),
        ("Headquarters".into(), vec![link(hq)]),
    ];
    let lead = vec![
        t(format!("{} is {} {industry} company headquartered in ", e.name, article(industry))),
        link(hq),
        t(format!(". It was founded in {founded} by ")),
        link(f),
        t("."),
    ];
    let mut blocks = vec![Block::Infobox(info), Block::Para(lead)];
    link_section(&mut blocks, "Notable staff", &br.staff[i], ents);
    blocks
}

fn work_blocks(i: usize, ents: &[Entity]) -> Vec<Block> {
    let e = &ents[i];
    let Facts::Work { year, creator, genre } = e.facts else { return Vec::new() };
    let c = &ents[creator];
    let role = genre.creator_noun();
    let mut role_cap = role.to_string();
    role_cap[..1].make_ascii_uppercase();
    let info = vec![
        ("Type".to_string(), vec![t(genre.noun())]),
        (role_cap, vec![link(c)]),
        ("Year".into(), vec![t(year.to_string())]),
    ];
    let lead = vec![
        t(format!("{} is {} {} by ", e.name, article(genre.noun()), genre.noun())),
        link(c),
        t(format!(". It was {} in {year}.", genre.year_verb())),
    ];
    let more = vec![t("More in the list of "), a(&genre_list_path(genre.noun()), &format!("{}s", genre.noun()))];
    vec![Block::Infobox(info), Block::Para(lead), Block::Para(more)]
}

/// "a" or "an" before `word`.
pub fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// `/list/places-in-<country>`.
pub fn country_list_path(country: &str) -> String {
    format!("/list/places-in-{}", slugify(country))
}

/// `/list/<genre>s`.
pub fn genre_list_path(genre: &str) -> String {
    format!("/list/{genre}s")
}

/// Renders the page for entity `i`, padded with filler to a drawn size (never above 10 KB).
fn entity_page(i: usize, ents: &[Entity], br: &Backrefs, r: &mut Rng) -> SimPage {
    let e = &ents[i];
    let mut blocks = match e.facts {
        Facts::Person { .. } => person_blocks(i, ents, br, r),
        Facts::Place { .. } => place_blocks(i, ents, br),
        Facts::Organisation { .. } => org_blocks(i, ents, br),
        Facts::Work { .. } => work_blocks(i, ents),
    };
    let lay = Layout::choose(r);
    let target = r.range(PAGE_BYTES.0, PAGE_BYTES.1) as usize;
    // The filler section goes before the first section heading (or last): never inside a section.
    let first_heading = blocks.iter().position(|b| matches!(b, Block::Heading(_)));
    let at = if r.chance(0.5) { first_heading.unwrap_or(blocks.len()) } else { blocks.len() };
    blocks.insert(at, Block::Heading(super::filler::heading(r).to_string()));
    let mut next_para = at + 1;
    let mut page = render(&e.path, &e.name, &blocks, &lay);
    while page.html.len() < target {
        blocks.insert(next_para, Block::Para(vec![t(super::filler::paragraph(&e.name, r))]));
        next_para += 1;
        let next = render(&e.path, &e.name, &blocks, &lay);
        if next.html.len() > MAX_PAGE_BYTES {
            break;
        }
        page = next;
    }
    page
}

/// Every page of the world: home, about, categories, lists, then one page per entity.
pub fn build_pages(ents: &[Entity], countries: &[String], r: &mut Rng) -> Result<Vec<SimPage>> {
    let br = Backrefs::new(ents);
    let mut pages = super::index_pages::build(ents, countries, PER_PAGE, r);
    for i in 0..ents.len() {
        pages.push(entity_page(i, ents, &br, r));
    }
    Ok(pages)
}
