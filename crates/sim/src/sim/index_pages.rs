//! Navigation pages: the home page `/`, `/about`, paginated category pages
//! (`/category/people`, `/category/people/2`, ...) and list pages (places by country, works by genre).
use super::html::{a, render, t, Block, Layout, Rich};
use super::names::fold;
use super::pages::{country_list_path, genre_list_path};
use super::rng::Rng;
use super::world::{Entity, Facts, Genre};
use super::SimPage;

/// The four categories: (path, title).
const CATEGORIES: [(&str, &str); 4] = [
    ("/category/people", "People"),
    ("/category/places", "Places"),
    ("/category/organisations", "Organisations"),
    ("/category/works", "Works"),
];

fn category_of(e: &Entity) -> usize {
    match e.facts {
        Facts::Person { .. } => 0,
        Facts::Place { .. } => 1,
        Facts::Organisation { .. } => 2,
        Facts::Work { .. } => 3,
    }
}

/// A short description for list entries: occupation, country, industry, genre (no answers).
fn blurb(e: &Entity) -> String {
    match &e.facts {
        Facts::Person { occupation, .. } => (*occupation).to_string(),
        Facts::Place { .. } => "town".to_string(),
        Facts::Organisation { industry, .. } => format!("{industry} company"),
        Facts::Work { genre, .. } => genre.noun().to_string(),
    }
}

fn entry(e: &Entity) -> Rich {
    vec![a(&e.path, &e.name), t(format!(" ({})", blurb(e)))]
}

/// Path of page `k` (0-based) of a category.
fn page_path(base: &str, k: usize) -> String {
    if k == 0 {
        base.to_string()
    } else {
        format!("{base}/{}", k + 1)
    }
}

/// Members of each category, sorted by folded name then path.
fn members(ents: &[Entity]) -> [Vec<usize>; 4] {
    let mut m: [Vec<usize>; 4] = Default::default();
    for (i, e) in ents.iter().enumerate() {
        m[category_of(e)].push(i);
    }
    for list in &mut m {
        list.sort_by_cached_key(|&i| (fold(&ents[i].name).to_lowercase(), ents[i].path.clone()));
    }
    m
}

/// A list of `ids` split into pages of `per`: `base`, `base/2`, ... chained by next/previous links.
fn paged(
    base: &str,
    title: &str,
    intro: &str,
    ids: &[usize],
    ents: &[Entity],
    per: usize,
    r: &mut Rng,
) -> Vec<SimPage> {
    let chunks: Vec<&[usize]> = if ids.is_empty() { vec![&[][..]] } else { ids.chunks(per.max(1)).collect() };
    let mut out = Vec::new();
    for (k, chunk) in chunks.iter().enumerate() {
        let mut blocks = vec![Block::Para(vec![t(intro)])];
        if !chunk.is_empty() {
            blocks.push(Block::List(chunk.iter().map(|&i| entry(&ents[i])).collect()));
        }
        let mut nav: Rich = Vec::new();
        if k > 0 {
            nav.extend([a(&page_path(base, k - 1), "Previous page"), t(" ")]);
        }
        if k + 1 < chunks.len() {
            nav.push(a(&page_path(base, k + 1), "Next page"));
        }
        if !nav.is_empty() {
            blocks.push(Block::Para(nav));
        }
        let name = if k == 0 { title.to_string() } else { format!("{title} (page {})", k + 1) };
        out.push(render(&page_path(base, k), &name, &blocks, &Layout::choose(r)));
    }
    out
}

fn category_pages(ents: &[Entity], members: &[usize], cat: usize, per: usize, r: &mut Rng) -> Vec<SimPage> {
    let (base, title) = CATEGORIES[cat];
    let intro = format!("This category lists {} articles about {}.", members.len(), title.to_lowercase());
    paged(base, &format!("Category: {title}"), &intro, members, ents, per, r)
}

/// Places grouped by country and works grouped by genre, as `(path, title, members)`.
fn lists(ents: &[Entity], countries: &[String], sorted: &[Vec<usize>; 4]) -> Vec<(String, String, Vec<usize>)> {
    let mut out = Vec::new();
    for c in countries {
        let ids: Vec<usize> = sorted[1]
            .iter()
            .copied()
            .filter(|&i| matches!(&ents[i].facts, Facts::Place { country, .. } if country == c))
            .collect();
        out.push((country_list_path(c), format!("Places in {c}"), ids));
    }
    for g in Genre::ALL {
        let ids: Vec<usize> = sorted[3]
            .iter()
            .copied()
            .filter(|&i| matches!(ents[i].facts, Facts::Work { genre, .. } if genre == g))
            .collect();
        out.push((genre_list_path(g.noun()), format!("List of {}s", g.noun()), ids));
    }
    out
}

fn home_page(cats: &[Vec<SimPage>], lists: &[Vec<SimPage>], featured: &[&Entity], r: &mut Rng) -> SimPage {
    let mut blocks = vec![Block::Para(vec![t(
        "Welcome to the encyclopaedia of an imaginary world: its people, places, organisations and works.",
    )])];
    blocks.push(Block::Heading("Categories".into()));
    blocks.push(Block::List(cats.iter().flatten().map(|p| vec![a(&p.path, &p.title)]).collect()));
    blocks.push(Block::Heading("Lists".into()));
    blocks.push(Block::List(lists.iter().flatten().map(|p| vec![a(&p.path, &p.title)]).collect()));
    blocks.push(Block::Heading("Featured articles".into()));
    blocks.push(Block::List(featured.iter().map(|e| entry(e)).collect()));
    render("/", "Main page", &blocks, &Layout::choose(r))
}

fn about_page(r: &mut Rng) -> SimPage {
    let text = "This site is a synthetic encyclopaedia generated for reproducible research. Every article \
                describes an invented person, place, organisation or work; any resemblance to real ones is \
                coincidental. Articles link to related articles, and the search box finds articles by words.";
    render("/about", "About this site", &[Block::Para(vec![t(text)])], &Layout::choose(r))
}

/// Home, about, category and list pages, in that order.
pub fn build(ents: &[Entity], countries: &[String], per: usize, r: &mut Rng) -> Vec<SimPage> {
    let sorted = members(ents);
    let cats: Vec<Vec<SimPage>> = (0..4).map(|c| category_pages(ents, &sorted[c], c, per, r)).collect();
    let lists: Vec<Vec<SimPage>> = lists(ents, countries, &sorted)
        .into_iter()
        .map(|(path, title, ids)| {
            paged(&path, &title, &format!("{title}: {} articles.", ids.len()), &ids, ents, per, r)
        })
        .collect();
    let mut featured: Vec<&Entity> = Vec::new();
    for _ in 0..6 {
        if let Some(e) = r.pick(ents) {
            if !featured.iter().any(|f| f.path == e.path) {
                featured.push(e);
            }
        }
    }
    let mut pages = vec![home_page(&cats, &lists, &featured, r), about_page(r)];
    pages.extend(cats.into_iter().flatten());
    pages.extend(lists.into_iter().flatten());
    pages
}
