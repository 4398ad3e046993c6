//! The source layout's rules, checked on the source itself (ARCHITECTURE.md, "Dependency
//! rules"): no two files of `src/` import each other, the doors and the proxy import nothing
//! from each other, shared state and the layers import no door, and no file of `src/` grows
//! past 700 lines except the data tables named here.
//!
//! "Imports" means any path in a file that names an item of another file of the library:
//! `use` declarations (braces, aliases and globs expanded) and paths written out in code
//! (`crate::…`, `super::…`, a child module's name, or a name a `use` brought in). A path is
//! followed through re-exports (`pub use`) to the file that defines the item, so a facade
//! `mod.rs` that re-exports its files does not make them depend on it.
//!
//! `LAYOUT_WHY=1 cargo test --test layout` prints every import edge with the path behind it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Files allowed past [`MAX_LINES`]: data tables, not code (each row is a rule or a vendor
/// format, reviewed as a table).
const DATA_TABLES: &[&str] = &["layers/sanitize/vendors.rs", "layers/sanitize/rules.rs"];
const MAX_LINES: usize = 700;

/// Directory pairs (`from`, `to`) that must have no import edge from the first to the second.
const FORBIDDEN: &[(&str, &str)] = &[
    ("adapters/http", "adapters/mcp"),
    ("adapters/http", "proxy"),
    ("adapters/mcp", "adapters/http"),
    ("adapters/mcp", "proxy"),
    ("adapters/grpc", "proxy"),
    ("proxy", "adapters"),
    ("state", "adapters"),
    ("state", "proxy"),
    ("layers", "adapters"),
    ("layers", "proxy"),
    ("layers", "state"),
    ("layers", "config"),
    ("layers", "airlock"),
    ("mcp", "adapters"),
    ("mcp", "proxy"),
];

#[test]
fn no_two_files_import_each_other() {
    let crate_ = Crate::load();
    let edges = crate_.edges();
    let mut cycles = Vec::new();
    for (from, tos) in &edges {
        for to in tos {
            if from < to && edges.get(to).is_some_and(|back| back.contains(from)) {
                cycles.push(format!("{from} <-> {to}"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "files that import each other:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn doors_proxy_state_and_layers_keep_to_their_side() {
    let crate_ = Crate::load();
    let mut broken = Vec::new();
    for (from, tos) in crate_.edges() {
        for to in tos {
            for (a, b) in FORBIDDEN {
                if within(&from, a) && within(&to, b) {
                    broken.push(format!("{from} -> {to} (no {a} -> {b})"));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports across a boundary:\n{}",
        broken.join("\n")
    );
}

#[test]
fn no_file_over_700_lines_but_data_tables() {
    let mut long = Vec::new();
    for file in rust_files(&src()) {
        let rel = relative(&file);
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        if lines > MAX_LINES && !DATA_TABLES.contains(&rel.as_str()) {
            long.push(format!("{rel}: {lines} lines"));
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

/// The checker finds what it is meant to find (so the tests above cannot pass by seeing
/// nothing).
#[test]
fn the_checker_sees_imports() {
    let crate_ = Crate::load();
    let edges = crate_.edges();
    let from = |f: &str| edges.get(f).cloned().unwrap_or_default();
    // `use crate::service::{…}` in the router, followed to the file defining `ToolResponse`.
    assert!(
        from("router.rs").contains("service/response.rs"),
        "{:?}",
        from("router.rs")
    );
    // A re-export is followed to the defining file: the preset names `SanitizeLayer` through
    // `layers::sanitize`, which re-exports it from `layer.rs`.
    assert!(
        from("airlock.rs").contains("layers/sanitize/layer.rs"),
        "{:?}",
        from("airlock.rs")
    );
    // A mutual pair is reported.
    let mut toy = Crate::default();
    toy.add("lib.rs", "mod a; mod b;");
    toy.add("a.rs", "use crate::b::B; pub struct A;");
    toy.add("b.rs", "pub struct B; fn f() -> super::a::A { todo!() }");
    let e = toy.edges();
    assert!(
        e["a.rs"].contains("b.rs") && e["b.rs"].contains("a.rs"),
        "{e:?}"
    );
    // Comments and strings name nothing.
    let mut toy = Crate::default();
    toy.add("lib.rs", "mod a; mod b;");
    toy.add(
        "a.rs",
        "// use crate::b::B;\nconst S: &str = \"crate::b::B\"; pub struct A;",
    );
    toy.add("b.rs", "pub struct B;");
    assert!(toy.edges().get("a.rs").is_none_or(|t| t.is_empty()));
}

fn within(file: &str, dir: &str) -> bool {
    file.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/') || rest == ".rs")
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn relative(file: &Path) -> String {
    file.strip_prefix(src())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The library's files by module path, with what each declares and imports.
#[derive(Default)]
struct Crate {
    /// Module path (`["layers", "sanitize"]`) → file (`layers/sanitize/mod.rs`).
    modules: BTreeMap<Vec<String>, String>,
    files: BTreeMap<String, File>,
}

#[derive(Default)]
struct File {
    module: Vec<String>,
    /// Names of items this file defines.
    items: BTreeSet<String>,
    /// `use` bindings: the name they bind → the absolute path.
    uses: HashMap<String, Vec<String>>,
    /// Paths of glob imports (`use x::*`).
    globs: Vec<Vec<String>>,
    /// Every path the file names, absolute.
    paths: Vec<Vec<String>>,
}

impl Crate {
    fn load() -> Self {
        let mut crate_ = Crate::default();
        for file in rust_files(&src()) {
            let rel = relative(&file);
            if rel.starts_with("bin/") {
                continue; // a crate of its own
            }
            crate_.add(&rel, &std::fs::read_to_string(&file).unwrap());
        }
        crate_
    }

    fn add(&mut self, rel: &str, text: &str) {
        let module = module_of(rel);
        self.modules.insert(module.clone(), rel.to_owned());
        let file = parse(module, &strip(text));
        self.files.insert(rel.to_owned(), file);
    }

    /// File → files it imports.
    fn edges(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut edges = BTreeMap::new();
        for (name, file) in &self.files {
            let mut to = BTreeSet::new();
            for path in &file.paths {
                if let Some(def) = self.resolve(path, &mut 0)
                    && &def != name
                {
                    if std::env::var_os("LAYOUT_WHY").is_some() {
                        eprintln!("{name} -> {def}: {}", path.join("::"));
                    }
                    to.insert(def);
                }
            }
            edges.insert(name.clone(), to);
        }
        edges
    }

    /// The file that defines what `path` (absolute) names, following re-exports.
    fn resolve(&self, path: &[String], depth: &mut u32) -> Option<String> {
        *depth += 1;
        if *depth > 32 {
            return None;
        }
        let mut module: Vec<String> = Vec::new();
        for (i, seg) in path.iter().enumerate() {
            let mut child = module.clone();
            child.push(seg.clone());
            if self.modules.contains_key(&child) {
                module = child;
                continue;
            }
            let file_name = self.modules.get(&module)?;
            let file = &self.files[file_name];
            if file.items.contains(seg) {
                return Some(file_name.clone());
            }
            if let Some(target) = file.uses.get(seg) {
                let mut next = target.clone();
                next.extend(path[i + 1..].iter().cloned());
                if next.first().is_some_and(|s| s == "$extern") {
                    return None;
                }
                return self.resolve(&next, depth);
            }
            for glob in &file.globs {
                let mut next = glob.clone();
                next.extend(path[i..].iter().cloned());
                if let Some(found) = self.resolve(&next, depth) {
                    return Some(found);
                }
            }
            // An inline module, a macro, a method: this file is as far as we can tell.
            return Some(file_name.clone());
        }
        self.modules.get(&module).cloned()
    }
}

fn module_of(rel: &str) -> Vec<String> {
    let rel = rel.trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The text with comments, strings and character literals blanked out (lines kept).
fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&b, i) {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                match b.get(j) {
                    None => break,
                    Some('"') if (1..=hashes).all(|k| b.get(j + k) == Some(&'#')) => {
                        j += 1 + hashes;
                        break;
                    }
                    Some('\n') => out.push('\n'),
                    _ => {}
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                } else if b[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Sep, // ::
    Punct(char),
}

fn tokens(text: &str) -> Vec<Tok> {
    let b: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            let word: String = b[start..i].iter().collect();
            // `$crate` is a macro's path; `r#type` a raw identifier.
            if start > 0 && b[start - 1] == '$' {
                out.push(Tok::Punct('$'));
            }
            out.push(Tok::Ident(word));
        } else if c == ':' && b.get(i + 1) == Some(&':') {
            out.push(Tok::Sep);
            i += 2;
        } else if c.is_whitespace() || c.is_ascii_digit() {
            i += 1;
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

const ITEM_KEYWORDS: &[&str] = &[
    "struct", "enum", "fn", "trait", "type", "const", "static", "union",
];

fn parse(module: Vec<String>, text: &str) -> File {
    let toks = tokens(text);
    let mut file = File {
        module,
        ..File::default()
    };
    let mut children = BTreeSet::new();
    // Inline modules (`mod tests { … }`): the brace depth each opened at.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let mut raw_paths: Vec<(Vec<String>, usize)> = Vec::new(); // (relative path, inline depth)
    let mut raw_uses: Vec<(Vec<String>, Option<String>, usize)> = Vec::new();
    while i < toks.len() {
        match &toks[i] {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let Some(Tok::Ident(name)) = toks.get(i + 1) {
                    match toks.get(i + 2) {
                        Some(Tok::Punct(';')) if inline.is_empty() => {
                            children.insert(name.clone());
                        }
                        Some(Tok::Punct('{')) => {
                            inline.push(depth);
                            depth += 1;
                            i += 3;
                            continue;
                        }
                        _ => {}
                    }
                    i += 2;
                    continue;
                }
            }
            Tok::Ident(kw) if kw == "macro_rules" => {
                if let (Some(Tok::Punct('!')), Some(Tok::Ident(name))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    file.items.insert(name.clone());
                }
            }
            Tok::Ident(kw) if ITEM_KEYWORDS.contains(&kw.as_str()) => {
                if let Some(Tok::Ident(name)) = toks.get(i + 1)
                    && inline.is_empty()
                    && !(kw == "type" && matches!(name.as_str(), "Output" | "Error"))
                {
                    file.items.insert(name.clone());
                }
            }
            Tok::Ident(kw) if kw == "use" => {
                let end = toks[i..]
                    .iter()
                    .position(|t| *t == Tok::Punct(';'))
                    .map_or(toks.len(), |p| i + p);
                let mut out = Vec::new();
                use_tree(&toks[i + 1..end], Vec::new(), &mut out);
                for (path, alias) in out {
                    raw_uses.push((path, alias, inline.len()));
                }
                i = end + 1;
                continue;
            }
            Tok::Ident(_)
                if toks.get(i + 1) == Some(&Tok::Sep)
                    && !matches!(
                        i.checked_sub(1).map(|p| &toks[p]),
                        Some(Tok::Sep | Tok::Punct('$'))
                    ) =>
            {
                let mut path = Vec::new();
                let mut j = i;
                while let Some(Tok::Ident(seg)) = toks.get(j) {
                    path.push(seg.clone());
                    if toks.get(j + 1) == Some(&Tok::Sep) {
                        j += 2;
                    } else {
                        j += 1;
                        break;
                    }
                }
                raw_paths.push((path, inline.len()));
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let absolute = |path: &[String], inline_depth: usize, file: &File| -> Option<Vec<String>> {
        let first = path.first()?;
        match first.as_str() {
            "crate" => Some(path[1..].to_vec()),
            "super" | "self" => {
                let mut base = file.module.clone();
                let mut levels = inline_depth;
                let mut rest = path;
                while let Some(seg) = rest.first() {
                    match seg.as_str() {
                        "super" if levels > 0 => levels -= 1,
                        "super" => {
                            base.pop();
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = &rest[1..];
                }
                if levels > 0 {
                    return None; // names something inside an inline module of this file
                }
                base.extend(rest.iter().cloned());
                Some(base)
            }
            name if children.contains(name) && inline_depth == 0 => {
                let mut base = file.module.clone();
                base.extend(path.iter().cloned());
                Some(base)
            }
            _ => None,
        }
    };
    for (path, alias, inline_depth) in &raw_uses {
        let resolved = absolute(path, *inline_depth, &file);
        let Some(abs) = resolved else {
            // An external crate (or a name from an inline module): binds, but to nothing here.
            if *inline_depth == 0
                && let Some(name) = alias.clone().or_else(|| path.last().cloned())
                && name != "*"
            {
                file.uses.insert(name, vec!["$extern".to_owned()]);
            }
            continue;
        };
        if abs.last().is_some_and(|s| s == "*") {
            let glob = abs[..abs.len() - 1].to_vec();
            file.paths.push(glob.clone());
            if *inline_depth == 0 {
                file.globs.push(glob);
            }
            continue;
        }
        let mut abs = abs;
        if abs.last().is_some_and(|s| s == "self") {
            abs.pop();
        }
        file.paths.push(abs.clone());
        if *inline_depth == 0 {
            let name = alias.clone().or_else(|| abs.last().cloned());
            if let Some(name) = name
                && name != "_"
            {
                file.uses.insert(name, abs);
            }
        }
    }
    for (path, inline_depth) in &raw_paths {
        if let Some(abs) = absolute(path, *inline_depth, &file) {
            file.paths.push(abs);
        } else if let Some(target) = file.uses.get(&path[0])
            && target.first().is_none_or(|s| s != "$extern")
        {
            let mut abs = target.clone();
            abs.extend(path[1..].iter().cloned());
            file.paths.push(abs);
        }
    }
    file
}

/// Expands a `use` tree (the tokens between `use` and `;`) into (path, alias) pairs.
fn use_tree(toks: &[Tok], prefix: Vec<String>, out: &mut Vec<(Vec<String>, Option<String>)>) {
    let mut path = prefix.clone();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Ident(kw) if kw == "as" => {
                if let Some(Tok::Ident(alias)) = toks.get(i + 1) {
                    out.push((path.clone(), Some(alias.clone())));
                }
                return;
            }
            Tok::Ident(seg) => path.push(seg.clone()),
            Tok::Punct('*') => path.push("*".to_owned()),
            Tok::Sep => {}
            Tok::Punct('{') => {
                // Split the group's items at top-level commas.
                let mut level = 0;
                let mut start = i + 1;
                for j in i + 1..toks.len() {
                    match toks[j] {
                        Tok::Punct('{') => level += 1,
                        Tok::Punct('}') if level == 0 => {
                            if start < j {
                                use_tree(&toks[start..j], path.clone(), out);
                            }
                            return;
                        }
                        Tok::Punct('}') => level -= 1,
                        Tok::Punct(',') if level == 0 => {
                            if start < j {
                                use_tree(&toks[start..j], path.clone(), out);
                            }
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
                return;
            }
            _ => {}
        }
        i += 1;
    }
    if path.len() > prefix.len() || !path.is_empty() {
        out.push((path, None));
    }
}
