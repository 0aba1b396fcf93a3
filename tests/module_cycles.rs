//! The module graph of our crates, checked: no two modules depend on each other,
//! directly or through a chain, and the node's modules only import downwards
//! (docs/ARCHITECTURE.md).
//!
//! A module is a file. It depends on another when it names one of that file's
//! items: in a `use` or in a path written in code (`crate::…`, `super::…`,
//! `self::…`, or a child module's name). A path through a re-export is followed to
//! the file that defines the item. A module may use its ancestors' own items and
//! its descendants' items: a parent and its children form one unit. Test modules
//! (`#[cfg(test)]`) are left out. Plain text scanning, no parser: comments and
//! literals are blanked first, so only code is read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each crate's name and source directory, relative to the workspace root.
const CRATES: &[(&str, &str)] = &[
    ("basalt", "src"),
    ("cql-lite", "cql-lite/src"),
    ("cluster", "cluster/src"),
    ("storage", "storage/src"),
];

/// The node's layers, top to bottom; a module of a layer may import only from
/// the layers below it, and modules of one layer are independent of each other
/// (`cql` runs its reads and writes through the `coordinator` seam below it).
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["launcher", "nodetool"],
    &["node"],
    &["admin", "cql"],
    &["coordinator", "metrics"],
    &["rowcodec"],
    &["schema"],
    &["hlc", "config", "uuids"],
    &["entropy"],
];

/// One module's source, read and blanked.
struct Module {
    file: PathBuf,
    /// Code only: comments, literals and `#[cfg(test)]` items blanked.
    code: String,
    /// `use` imports by the name they bind: the absolute path each names.
    imports: BTreeMap<String, Vec<String>>,
    /// The names of the items it declares.
    defined: BTreeSet<String>,
    /// Absolute paths of glob imports (`use x::*`).
    globs: Vec<Vec<String>>,
    /// Every path the module names, absolute, with its line.
    references: Vec<(Vec<String>, usize)>,
}

/// A crate's modules by absolute path (`a::b`; the root is empty).
type Modules = BTreeMap<String, Module>;

/// Cycles not broken yet, by crate, each as its modules in order. The list
/// only shrinks: a cycle not on it fails, and so does an entry that is no
/// longer a cycle.
const KNOWN_CYCLES: &[(&str, &[&str])] = &[
    ("storage", &["commitlog::segments", "commitlog::writer"]),
    ("storage", &["memtable::encoded", "memtable::rows"]),
];

#[test]
fn modules_form_no_cycle_and_import_only_downwards() {
    let problems = check(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Storage and cluster reach files only through `storage::io::FileSystem`, so
/// the simulated file system sees, and can crash, every write they make. The
/// seam's own implementation over the operating system (`storage::io`) is the
/// one module allowed to name `std::fs`.
#[test]
fn storage_and_cluster_reach_files_only_through_the_file_system_seam() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let problems = direct_file_access(&root.join("storage/src"), &["io"])
        .into_iter()
        .chain(direct_file_access(&root.join("cluster/src"), &[]))
        .collect::<Vec<_>>();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The lines of the crate under `dir` (test code left out) that name the
/// standard or tokio file system, outside the modules `allowed`.
fn direct_file_access(dir: &Path, allowed: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, module) in load_crate(dir) {
        if allowed.contains(&path.as_str()) {
            continue;
        }
        for (n, line) in module.code.lines().enumerate() {
            if line.contains("std::fs") || line.contains("tokio::fs") {
                found.push(format!(
                    "{}:{}: {}",
                    module.file.display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    found
}

/// Every cycle and upward import in the crates under `root`, described.
fn check(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, dir) in CRATES {
        let modules = load_crate(&root.join(dir));
        let edges = edges(&modules);
        let found = cycles(&edges);
        for cycle in &found {
            if !KNOWN_CYCLES
                .iter()
                .any(|(c, known)| c == name && known == cycle)
            {
                let edges = describe(cycle, &edges, &modules);
                problems.push(format!("{name}: cycle\n{edges}"));
            }
        }
        for (_, known) in KNOWN_CYCLES.iter().filter(|(c, _)| c == name) {
            if !found.iter().any(|cycle| cycle == known) {
                problems.push(format!(
                    "{name}: {known:?} is no longer a cycle: take it off KNOWN_CYCLES"
                ));
            }
        }
        if *name == "basalt" {
            problems.extend(upward_edges(&edges, &modules));
        }
    }
    problems
}

/// The checker finds what it is meant to find.
#[test]
fn the_checker_sees_cycles_through_use_and_code_paths() {
    let mut modules = Modules::new();
    let sources = [
        ("", "mod a; mod b; mod c;"),
        (
            "a",
            "use crate::b::{self, Beta};\n// crate::c::Gamma in a comment\nfn f() {}",
        ),
        (
            "b",
            "pub struct Beta;\nfn g() { let s = \"crate::a::x\"; super::c::gamma(); }",
        ),
        (
            "c",
            "pub fn gamma() { crate::a::f(); }\n#[cfg(test)]\nmod tests { use crate::b::Beta; }",
        ),
    ];
    for (path, text) in sources {
        modules.insert(
            path.to_owned(),
            module(PathBuf::from(format!("{path}.rs")), text),
        );
    }
    resolve_references(&mut modules);
    let edges = edges(&modules);
    let named: BTreeSet<(&str, &str)> = edges
        .keys()
        .map(|(from, to)| (from.as_str(), to.as_str()))
        .collect();
    let expected = BTreeSet::from([("a", "b"), ("b", "c"), ("c", "a")]);
    assert_eq!(named, expected);
    assert_eq!(
        cycles(&edges),
        vec![vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]
    );
}

/// Re-exports lead to the defining file, a parent and its children may use
/// each other, and an import up the node's layers is named.
#[test]
fn the_checker_follows_re_exports_and_sees_upward_imports() {
    let mut modules = Modules::new();
    let sources = [
        ("", "mod cql; mod schema;"),
        (
            "cql",
            "mod select; pub use select::Plan; pub fn helper() {}",
        ),
        (
            "cql::select",
            "pub struct Plan; fn f() { super::helper(); }",
        ),
        ("schema", "use crate::cql::Plan;"),
    ];
    for (path, text) in sources {
        let file = PathBuf::from(format!("{}.rs", path.replace("::", "/")));
        modules.insert(path.to_owned(), module(file, text));
    }
    resolve_references(&mut modules);
    let edges = edges(&modules);
    let named: Vec<(&str, &str)> = edges
        .keys()
        .map(|(from, to)| (from.as_str(), to.as_str()))
        .collect();
    assert_eq!(named, vec![("schema", "cql::select")]);
    assert!(cycles(&edges).is_empty());
    let upward = upward_edges(&edges, &modules);
    assert_eq!(upward.len(), 1);
    assert!(upward[0].contains("schema must not import cql::select"));
}

/// Reads every `.rs` file under `dir` except test modules and the binary's root.
fn load_crate(dir: &Path) -> Modules {
    let mut modules = Modules::new();
    let mut files = Vec::new();
    collect_files(dir, &mut files);
    for file in files {
        let relative = file.strip_prefix(dir).expect("under the source directory");
        if relative == Path::new("main.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable source");
        modules.insert(module_path(relative), module(file, &text));
    }
    let tests = test_modules(&modules);
    modules.retain(|path, _| !tests.iter().any(|t| is_within(path, t)));
    resolve_references(&mut modules);
    modules
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// `a/b.rs` and `a/b/mod.rs` are `a::b`; `lib.rs` is the root.
fn module_path(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

fn module(file: PathBuf, text: &str) -> Module {
    let mut code = blank_literals(text);
    blank_test_items(&mut code);
    Module {
        file,
        defined: declared_names(&code),
        code,
        imports: BTreeMap::new(),
        globs: Vec::new(),
        references: Vec::new(),
    }
}

/// Modules declared `#[cfg(test)] mod name;`, as absolute paths.
fn test_modules(modules: &Modules) -> Vec<String> {
    let mut tests = Vec::new();
    for (path, module) in modules {
        let source = std::fs::read_to_string(&module.file).expect("readable source");
        let text = blank_literals(&source);
        for (at, _) in text.match_indices("#[cfg(test)]") {
            let rest = text[at + "#[cfg(test)]".len()..].trim_start();
            let rest = rest.strip_prefix("pub(crate)").unwrap_or(rest).trim_start();
            if let Some(rest) = rest.strip_prefix("mod ") {
                let name: String = rest
                    .trim_start()
                    .chars()
                    .take_while(|c| is_ident(*c))
                    .collect();
                tests.push(join(path, &name));
            }
        }
    }
    tests
}

fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}::{child}")
    }
}

fn segments(path: &str) -> Vec<String> {
    if path.is_empty() {
        Vec::new()
    } else {
        path.split("::").map(str::to_owned).collect()
    }
}

/// `path` is `ancestor` or inside it.
fn is_within(path: &str, ancestor: &str) -> bool {
    ancestor.is_empty()
        || path == ancestor
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with("::"))
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Replaces comments, string and character literals by spaces, keeping newlines
/// so byte offsets still give line numbers.
fn blank_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let end = literal_end(&chars, i);
        if end == i {
            out.push(chars[i]);
            i += 1;
        } else {
            for c in &chars[i..end] {
                out.push(if *c == '\n' { '\n' } else { ' ' });
            }
            i = end;
        }
    }
    out
}

/// Where the comment or literal starting at `i` ends, or `i` if none starts there.
fn literal_end(chars: &[char], i: usize) -> usize {
    let at = |k: usize| chars.get(k).copied().unwrap_or('\0');
    let after_ident = i > 0 && is_ident(at(i - 1));
    match (at(i), at(i + 1)) {
        ('/', '/') => (i..chars.len())
            .find(|k| chars[*k] == '\n')
            .unwrap_or(chars.len()),
        ('/', '*') => block_comment_end(chars, i),
        ('"', _) => quoted_end(chars, i + 1, '"'),
        ('b', '"') if !after_ident => quoted_end(chars, i + 2, '"'),
        ('r' | 'b', '#' | '"') if !after_ident => raw_string_end(chars, i),
        ('b', '\'') if !after_ident => quoted_end(chars, i + 2, '\''),
        ('\'', '\\') => quoted_end(chars, i + 1, '\''),
        ('\'', _) if at(i + 2) == '\'' => i + 3,
        _ => i,
    }
}

fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut k = start;
    while k + 1 < chars.len() {
        match (chars[k], chars[k + 1]) {
            ('/', '*') => (depth, k) = (depth + 1, k + 2),
            ('*', '/') => {
                depth -= 1;
                k += 2;
                if depth == 0 {
                    return k;
                }
            }
            _ => k += 1,
        }
    }
    chars.len()
}

/// The end of a literal whose body starts at `k` and closes with `close`.
fn quoted_end(chars: &[char], mut k: usize, close: char) -> usize {
    while k < chars.len() {
        match chars[k] {
            '\\' => k += 2,
            c if c == close => return k + 1,
            _ => k += 1,
        }
    }
    chars.len()
}

/// `r"…"`, `r#"…"#`, `br#"…"#`.
fn raw_string_end(chars: &[char], start: usize) -> usize {
    let mut k = start + usize::from(chars[start] == 'b');
    if chars.get(k) != Some(&'r') {
        return start;
    }
    k += 1;
    let hashes = chars[k..].iter().take_while(|c| **c == '#').count();
    k += hashes;
    if chars.get(k) != Some(&'"') {
        return start;
    }
    let closing: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    (k + 1..chars.len())
        .find(|p| chars[*p..].starts_with(&closing))
        .map_or(chars.len(), |p| p + closing.len())
}

/// Blanks every item marked `#[cfg(test)]`: up to its `;` or its closing brace.
fn blank_test_items(code: &mut String) {
    while let Some(at) = code.find("#[cfg(test)]") {
        let bytes = code.as_bytes();
        let mut depth = 0usize;
        let mut end = code.len();
        for (k, b) in bytes.iter().enumerate().skip(at) {
            match b {
                b'{' => depth += 1,
                b'}' if depth == 1 => {
                    end = k + 1;
                    break;
                }
                b'}' => depth = depth.saturating_sub(1),
                b';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        blank(code, at, end);
    }
}

/// Reads every module's `use` items and code paths, made absolute.
fn resolve_references(modules: &mut Modules) {
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    for (path, module) in modules.iter_mut() {
        let children = children(&names, path);
        let here = segments(path);
        let mut code = module.code.clone();
        for (start, end) in use_items(&code) {
            let line = line_of(&code, start);
            for (relative, binding) in use_tree(&code[start..end]) {
                let Some(absolute) = absolute(&here, &children, &relative) else {
                    continue;
                };
                match binding {
                    Some(name) => {
                        module.imports.insert(name, absolute.clone());
                    }
                    None => module.globs.push(absolute.clone()),
                }
                module.references.push((absolute, line));
            }
            blank(&mut code, start, end);
        }
        for (relative, line) in code_paths(&code) {
            if let Some(absolute) = absolute(&here, &children, &relative) {
                module.references.push((absolute, line));
            }
        }
    }
}

/// The names of the modules directly inside `parent`.
fn children(names: &BTreeSet<String>, parent: &str) -> BTreeSet<String> {
    names
        .iter()
        .filter(|name| !name.is_empty() && is_within(name, parent))
        .map(|name| name[parent.len()..].trim_start_matches("::"))
        .filter(|rest| !rest.is_empty() && !rest.contains("::"))
        .map(str::to_owned)
        .collect()
}

/// Replaces `code[start..end]` by spaces, keeping newlines.
fn blank(code: &mut String, start: usize, end: usize) {
    let spaces: String = code[start..end]
        .chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect();
    code.replace_range(start..end, &spaces);
}

fn line_of(code: &str, offset: usize) -> usize {
    code[..offset].matches('\n').count() + 1
}

/// Byte ranges of `use …;` items (after the keyword, up to the semicolon).
fn use_items(code: &str) -> Vec<(usize, usize)> {
    let mut items = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find("use ") {
        let at = from + found;
        from = at + "use ".len();
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| is_ident(c) || c == '$') {
            continue;
        }
        if let Some(len) = code[from..].find(';') {
            items.push((from, from + len));
            from += len;
        }
    }
    items
}

/// The paths a use tree names, each with the name it binds (`None` for a glob).
fn use_tree(text: &str) -> Vec<(Vec<String>, Option<String>)> {
    let tokens: Vec<String> = tokens(text).into_iter().map(|(t, _)| t).collect();
    if tokens.first().is_some_and(|t| t == "::") {
        return Vec::new(); // `use ::name::…` names another crate.
    }
    let mut out = Vec::new();
    let mut k = 0;
    use_subtree(&tokens, &mut k, &[], &mut out);
    out
}

type Bindings = Vec<(Vec<String>, Option<String>)>;

/// One branch of a use tree from `tokens[*k]`, under `prefix`.
fn use_subtree(tokens: &[String], k: &mut usize, prefix: &[String], out: &mut Bindings) {
    let mut path = prefix.to_vec();
    while let Some(token) = tokens.get(*k) {
        *k += 1;
        match token.as_str() {
            "::" => {}
            "*" => {
                out.push((path, None));
                return;
            }
            "{" => {
                use_group(tokens, k, &path, out);
                return;
            }
            "as" => {
                if let Some(alias) = tokens.get(*k) {
                    *k += 1;
                    out.push((path, Some(alias.clone())));
                }
                return;
            }
            "," | "}" => {
                *k -= 1;
                break;
            }
            "self" if !path.is_empty() => {}
            _ => path.push(token.clone()),
        }
    }
    let binding = path.last().cloned();
    out.push((path, binding));
}

/// The branches of `{…}` after its opening brace, up to and past its closing one.
fn use_group(tokens: &[String], k: &mut usize, prefix: &[String], out: &mut Bindings) {
    while tokens.get(*k).is_some_and(|t| t != "}") {
        use_subtree(tokens, k, prefix, out);
        if tokens.get(*k).is_some_and(|t| t == ",") {
            *k += 1;
        }
    }
    *k += 1;
}

/// Identifiers and punctuation, each with its line; `::` is one token.
fn tokens(text: &str) -> Vec<(String, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k];
        if is_ident(c) || c == '$' {
            let len = chars[k + 1..].iter().take_while(|c| is_ident(**c)).count() + 1;
            let word: String = chars[k..k + len].iter().collect();
            tokens.push((word.replace("$crate", "crate"), line));
            k += len;
        } else if c == ':' && chars.get(k + 1) == Some(&':') {
            tokens.push(("::".to_owned(), line));
            k += 2;
        } else {
            if c == '\n' {
                line += 1;
            } else if !c.is_whitespace() {
                tokens.push((c.to_string(), line));
            }
            k += 1;
        }
    }
    tokens
}

/// Paths of two or more segments written in code, with their lines.
fn code_paths(code: &str) -> Vec<(Vec<String>, usize)> {
    let tokens = tokens(code);
    let word = |k: usize| tokens.get(k).filter(|(t, _)| t.starts_with(is_ident));
    let mut out = Vec::new();
    let mut k = 0;
    while k < tokens.len() {
        let continues = k > 0 && tokens[k - 1].0 == "::";
        let Some((first, line)) = word(k).filter(|_| !continues) else {
            k += 1;
            continue;
        };
        let mut path = vec![first.clone()];
        k += 1;
        while tokens.get(k).is_some_and(|(t, _)| t == "::") {
            let Some((next, _)) = word(k + 1) else { break };
            path.push(next.clone());
            k += 2;
        }
        if path.len() > 1 {
            out.push((path, *line));
        }
    }
    out
}

/// A path as written in module `here`, made absolute; `None` for other crates' paths
/// and names the scan cannot place (locals, types, enum variants).
fn absolute(here: &[String], children: &BTreeSet<String>, path: &[String]) -> Option<Vec<String>> {
    let first = path.first()?;
    let (mut base, rest) = match first.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (here.to_vec(), &path[1..]),
        "super" => {
            let supers = path.iter().take_while(|s| *s == "super").count();
            let mut base = here.to_vec();
            base.truncate(here.len().checked_sub(supers)?);
            (base, &path[supers..])
        }
        name if children.contains(name) => (here.to_vec(), path),
        _ => return None,
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module that defines what `path` names, following re-exports.
fn defining_module(modules: &Modules, path: &[String], depth: usize) -> Option<String> {
    let split = (0..=path.len())
        .rev()
        .find(|n| modules.contains_key(&path[..*n].join("::")))?;
    let owner = path[..split].join("::");
    let Some(name) = path.get(split) else {
        return Some(owner);
    };
    let module = &modules[&owner];
    if depth == 0 || module.defined.contains(name) {
        return Some(owner);
    }
    if let Some(target) = module.imports.get(name) {
        let mut next = target.clone();
        next.extend(path[split + 1..].iter().cloned());
        return defining_module(modules, &next, depth - 1).or(Some(owner));
    }
    for glob in &module.globs {
        let mut next = glob.clone();
        next.extend(path[split..].iter().cloned());
        let found = defining_module(modules, &next, depth - 1);
        if let Some(found) = found.filter(|f| modules[f].defined.contains(name)) {
            return Some(found);
        }
    }
    Some(owner)
}

/// The names of the items `code` declares.
fn declared_names(code: &str) -> BTreeSet<String> {
    const KINDS: &[&str] = &[
        "fn", "struct", "enum", "trait", "type", "const", "static", "union", "mod",
    ];
    let tokens = tokens(code);
    tokens
        .windows(2)
        .filter(|w| KINDS.contains(&w[0].0.as_str()))
        .map(|w| w[1].0.clone())
        .collect()
}

/// Module-to-module edges, each with the file and line of its first reference.
type Edges = BTreeMap<(String, String), usize>;

fn edges(modules: &Modules) -> Edges {
    let mut edges = Edges::new();
    for (from, module) in modules {
        for (path, line) in &module.references {
            let Some(to) = defining_module(modules, path, 8) else {
                continue;
            };
            if is_within(from, &to) || is_within(&to, from) {
                continue;
            }
            edges.entry((from.clone(), to)).or_insert(*line);
        }
    }
    edges
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(edges: &Edges) -> Vec<Vec<String>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        graph.entry(from).or_default().push(to);
        graph.entry(to).or_default();
    }
    let mut tarjan = Tarjan::default();
    for node in graph.keys() {
        if !tarjan.index.contains_key(node) {
            tarjan.visit(node, &graph);
        }
    }
    tarjan.components
}

#[derive(Default)]
struct Tarjan<'a> {
    index: BTreeMap<&'a str, usize>,
    low: BTreeMap<&'a str, usize>,
    stack: Vec<&'a str>,
    on_stack: BTreeSet<&'a str>,
    components: Vec<Vec<String>>,
}

impl<'a> Tarjan<'a> {
    fn visit(&mut self, node: &'a str, graph: &BTreeMap<&'a str, Vec<&'a str>>) {
        let n = self.index.len();
        self.index.insert(node, n);
        self.low.insert(node, n);
        self.stack.push(node);
        self.on_stack.insert(node);
        for next in &graph[node] {
            if !self.index.contains_key(next) {
                self.visit(next, graph);
                let low = self.low[node].min(self.low[next]);
                self.low.insert(node, low);
            } else if self.on_stack.contains(next) {
                let low = self.low[node].min(self.index[next]);
                self.low.insert(node, low);
            }
        }
        if self.low[node] == self.index[node] {
            let mut component = Vec::new();
            while let Some(top) = self.stack.pop() {
                self.on_stack.remove(top);
                component.push(top.to_owned());
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                self.components.push(component);
            }
        }
    }
}

/// A cycle's edges with where each is made.
fn describe(cycle: &[String], edges: &Edges, modules: &Modules) -> String {
    let mut lines = Vec::new();
    for ((from, to), line) in edges {
        if cycle.contains(from) && cycle.contains(to) {
            let file = modules[from].file.display();
            lines.push(format!("  {from} -> {to} ({file}:{line})"));
        }
    }
    lines.join("\n")
}

/// Modules of the node crate without a layer, and edges that point to the same
/// or a higher layer.
fn upward_edges(edges: &Edges, modules: &Modules) -> Vec<String> {
    let layer = |module: &str| {
        let top = module.split("::").next().unwrap_or_default();
        LAYERS.iter().position(|layer| layer.contains(&top))
    };
    let mut problems: Vec<String> = modules
        .keys()
        .filter(|m| !m.is_empty() && layer(m).is_none())
        .map(|m| format!("basalt: {m} has no place in LAYERS"))
        .collect();
    for ((from, to), line) in edges {
        let (Some(a), Some(b)) = (layer(from), layer(to)) else {
            continue;
        };
        let same_top = from.split("::").next() == to.split("::").next();
        let allowed = a < b || same_top;
        if !allowed {
            let file = modules[from].file.display();
            problems.push(format!(
                "basalt: {from} must not import {to} ({file}:{line})"
            ));
        }
    }
    problems
}
