//! Following a compile error's `help:` mechanically: the literal edits the macro's helps name
//! (`write `fc1: Linear<256, 120>``, `insert `stem_proj: Conv2d<16, 32, 1>,` between `stem`
//! and `block``, `insert `p: K(x),` before `sum` and write `sum: Add(p, y)``, `write
//! `Block<16, 64>`` at the error), applied to the failing case's source.

/// One error of a snapshot: its help lines and where it points (line, column; 1-based).
pub struct Reported {
    pub helps: Vec<String>,
    pub at: Option<(usize, usize)>,
}

/// The errors of a `.stderr` snapshot.
pub fn errors(stderr: &str) -> Vec<Reported> {
    let mut all: Vec<Reported> = Vec::new();
    for line in stderr.lines() {
        if line.starts_with("error") {
            all.push(Reported { helps: Vec::new(), at: None });
        }
        let Some(e) = all.last_mut() else { continue };
        let t = line.trim_start();
        if let Some(h) = t.strip_prefix("= help: ") {
            e.helps.push(h.to_string());
        } else if let Some(loc) = t.strip_prefix("--> ")
            && e.at.is_none()
        {
            let mut parts = loc.rsplitn(3, ':');
            let col = parts.next().and_then(|c| c.parse().ok());
            let line = parts.next().and_then(|l| l.parse().ok());
            e.at = line.zip(col);
        }
    }
    all
}

/// The first backquoted text of `s`, and what follows it.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let start = s.find('`')? + 1;
    let len = s[start..].find('`')?;
    Some((&s[start..start + len], &s[start + len + 1..]))
}

/// The byte length of the kind at the start of `s`: a name and its balanced `<…>`, or a
/// sequence `(…)`.
fn kind_len(s: &str) -> usize {
    if s.starts_with('(') {
        let mut depth = 0;
        for (i, c) in s.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
        }
        return s.len();
    }
    let name = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    if !s[name..].starts_with('<') {
        return name;
    }
    let mut depth = 0;
    for (i, c) in s[name..].char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return name + i + 1;
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// The index of the line declaring layer `name` (`    name: Kind…`) nearest above `near`
/// (the error's line: a help names a layer of the model the error is in), else the first.
fn layer_line(lines: &[String], name: &str, near: Option<usize>) -> Option<usize> {
    let head = format!("{name}:");
    let declares = |l: &String| l.trim_start().starts_with(&head);
    let limit = near.unwrap_or(lines.len()).min(lines.len());
    (0..limit).rev().find(|&i| declares(&lines[i])).or_else(|| lines.iter().position(declares))
}

/// Replaces the kind of layer `name` by `kind` (keeping what follows it: `(x),`).
fn rewrite_kind(lines: &mut [String], name: &str, kind: &str, near: Option<usize>) -> Option<()> {
    let i = layer_line(lines, name, near)?;
    let line = &lines[i];
    let start = line.find(':')? + 1;
    let rest = line[start..].trim_start();
    let offset = line.len() - rest.len();
    let end = offset + kind_len(rest);
    // A replacement that states the values read (`Add(p, y)`) replaces those too.
    let end = if kind.contains('(') && line[end..].starts_with('(') {
        end + line[end..].find(')')? + 1
    } else {
        end
    };
    lines[i] = format!("{}{kind}{}", &line[..offset], &line[end..]);
    Some(())
}

/// Applies one help to `lines`; `None` when it is not a literal edit this knows.
fn apply(lines: &mut Vec<String>, help: &str, at: Option<(usize, usize)>) -> Option<()> {
    let near = at.map(|(line, _)| line);
    let indent = |l: &String| l[..l.len() - l.trim_start().len()].to_string();
    // `write `…``, also after a clause (`to build `Block` for the size it is given, write …`).
    // `did you mean `Softmax`?`: the name at the error.
    if let Some(rest) = help.strip_prefix("did you mean ") {
        let (name, _) = quoted(rest)?;
        let (line, col) = at?;
        let l = lines.get_mut(line - 1)?;
        let start = l.char_indices().nth(col - 1)?.0;
        let end = start + kind_len(&l[start..]).min(l[start..].find('<').unwrap_or(usize::MAX));
        *l = format!("{}{name}{}", &l[..start], &l[end..]);
        return Some(());
    }
    // `write `…``, also after a clause without code (`for a layer of its own, write …`).
    let clause = help.split_once(", write ").filter(|(head, _)| !head.contains('`'));
    let rebuild = help.strip_prefix("to build ").and_then(|h| h.split_once(", write "));
    let write = help.strip_prefix("write ").or(clause.or(rebuild).map(|(_, w)| w));
    if let Some(rest) = write {
        let (edit, _) = quoted(rest)?;
        if edit.contains('…') {
            return None;
        }
        return match edit.split_once(": ") {
            Some((name, kind)) if !name.contains(['<', ' ']) => {
                rewrite_kind(lines, name, kind, near)
            }
            _ => {
                // A kind written at the error: replace the kind there.
                let (line, col) = at?;
                let l = lines.get_mut(line - 1)?;
                let start = l.char_indices().nth(col - 1)?.0;
                let end = start + kind_len(&l[start..]);
                *l = format!("{}{edit}{}", &l[..start], &l[end..]);
                Some(())
            }
        };
    }
    let rest = help.strip_prefix("insert ")?;
    let (new, rest) = quoted(rest)?;
    if let Some(rest) = rest.strip_prefix(" between ") {
        let (after, _) = quoted(rest)?;
        let i = layer_line(lines, after, near)?;
        let line = format!("{}{new}", indent(&lines[i]));
        lines.insert(i + 1, line);
        return Some(());
    }
    let rest = rest.strip_prefix(" before ")?;
    let (before, rest) = quoted(rest)?;
    let i = layer_line(lines, before, near)?;
    let line = format!("{}{new}", indent(&lines[i]));
    lines.insert(i, line);
    let (write, _) = quoted(rest.strip_prefix(" and write ")?)?;
    let (name, kind) = write.split_once(": ")?;
    rewrite_kind(lines, name, kind, near)
}

/// `source` with every error's first help applied, when each error has one this can apply.
pub fn followed(source: &str, stderr: &str) -> Option<String> {
    let mut lines: Vec<String> = source.lines().map(str::to_string).collect();
    let errors = errors(stderr);
    if errors.is_empty() {
        return None;
    }
    // Edits from the bottom up, so the lines above keep their numbers.
    let mut ordered: Vec<&Reported> = errors.iter().collect();
    ordered.sort_by_key(|e| std::cmp::Reverse(e.at));
    for e in ordered {
        let help = e.helps.first()?;
        apply(&mut lines, help, e.at)?;
    }
    Some(lines.join("\n") + "\n")
}
