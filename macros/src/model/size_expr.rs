//! Sizes computed from a model's parameters: `OUT * 4` in a layer's arguments or an input's
//! sizes, and the conditions of `#[when(STRIDE != 1 || IN != OUT)]`, evaluated in plain
//! numbers when `model!` builds a parameterised model at the sizes a use gives it.

use proc_macro2::Span;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{BinOp, Expr, Ident, Lit, Token, UnOp};

/// An integer expression over literals and parameters: `+ - * / %` and parentheses.
#[derive(Clone)]
pub(crate) enum SizeExpr {
    Lit(u64, Span),
    Param(Ident),
    Bin(Box<SizeExpr>, char, Box<SizeExpr>),
}

/// The parameters' values where a parameterised model is built (`IN = 64`), and the model's
/// name as the user wrote it, for messages.
pub(crate) struct Env<'a> {
    pub model: &'a str,
    pub values: &'a [(Ident, u64)],
}

impl Env<'_> {
    /// The value of parameter `name`, or an error saying which exist.
    pub fn get(&self, name: &Ident) -> Result<u64, syn::Error> {
        if let Some((_, v)) = self.values.iter().find(|(p, _)| p == name) {
            return Ok(*v);
        }
        let upper = name
            .to_string()
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        let msg = if self.values.is_empty() && !upper {
            format!(
                "`{name}` is not a size: a layer's sizes are integers (`784`), or the parameters of a model that has some (`struct Block<const C: usize>`, then `Conv2d<C, C, 3>`)"
            )
        } else if self.values.is_empty() {
            format!(
                "`{name}` is not a size `model!` knows: `{}` has no parameters\n  = help: declare it as one: `struct {}<const {name}: usize = 64>` (built at the default on its own, at `{}<128>` where a model uses it so)",
                self.model, self.model, self.model
            )
        } else {
            let names: Vec<String> = self.values.iter().map(|(p, _)| p.to_string()).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            match super::args::suggest(&name.to_string(), &refs, &[]) {
                Some(s) => format!(
                    "`{name}` is not a parameter of `{}`\n  = help: did you mean `{s}`?",
                    self.model
                ),
                None => format!(
                    "`{name}` is not a parameter of `{}`; its parameters are `{}`",
                    self.model,
                    names.join("`, `")
                ),
            }
        };
        Err(syn::Error::new(name.span(), msg))
    }
}

impl SizeExpr {
    /// Parses the rest of an expression whose first operand is `first`, stopping before any
    /// token that is not `+ - * / %` (a `,` or `>` closing a layer's arguments).
    pub fn parse_after(first: SizeExpr, input: ParseStream) -> syn::Result<SizeExpr> {
        let mut lhs = Self::parse_term_after(first, input)?;
        while let Some(op) = peek_op(input, &['+', '-']) {
            skip_op(input, op)?;
            let atom = Self::parse_atom(input)?;
            let rhs = Self::parse_term_after(atom, input)?;
            lhs = SizeExpr::Bin(Box::new(lhs), op, Box::new(rhs));
        }
        Ok(lhs)
    }

    /// Parses a whole expression.
    pub fn parse(input: ParseStream) -> syn::Result<SizeExpr> {
        let first = Self::parse_atom(input)?;
        Self::parse_after(first, input)
    }

    fn parse_term_after(first: SizeExpr, input: ParseStream) -> syn::Result<SizeExpr> {
        let mut lhs = first;
        while let Some(op) = peek_op(input, &['*', '/', '%']) {
            skip_op(input, op)?;
            let rhs = Self::parse_atom(input)?;
            lhs = SizeExpr::Bin(Box::new(lhs), op, Box::new(rhs));
        }
        Ok(lhs)
    }

    fn parse_atom(input: ParseStream) -> syn::Result<SizeExpr> {
        if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            return SizeExpr::parse(&content);
        }
        if input.peek(Ident) {
            return Ok(SizeExpr::Param(input.parse()?));
        }
        let lit: syn::LitInt = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a size: an integer, a parameter of the model (`OUT`), or arithmetic on them (`OUT * 4`)",
            )
        })?;
        Ok(SizeExpr::Lit(lit.base10_parse()?, lit.span()))
    }

    /// Whether the next token starts an operator that continues an expression.
    pub fn continues(input: ParseStream) -> bool {
        peek_op(input, &['+', '-', '*', '/', '%']).is_some()
    }

    /// The value with `env`'s parameters; overflow, a negative result and division by zero
    /// are errors at the expression.
    pub fn eval(&self, env: &Env<'_>) -> Result<u64, syn::Error> {
        match self {
            SizeExpr::Lit(v, _) => Ok(*v),
            SizeExpr::Param(p) => env.get(p),
            SizeExpr::Bin(a, op, b) => {
                let (x, y) = (a.eval(env)?, b.eval(env)?);
                let v = match op {
                    '+' => x.checked_add(y),
                    '-' => x.checked_sub(y),
                    '*' => x.checked_mul(y),
                    '/' => x.checked_div(y),
                    _ => x.checked_rem(y),
                };
                v.ok_or_else(|| {
                    let why = match op {
                        '-' => "is below zero",
                        '/' | '%' => "divides by zero",
                        _ => "overflows",
                    };
                    syn::Error::new(
                        self.span(),
                        format!("`{}` {why} in `{}` ({x} {op} {y})", self.text(), env.model),
                    )
                })
            }
        }
    }

    /// Where the expression starts.
    pub fn span(&self) -> Span {
        match self {
            SizeExpr::Lit(_, s) => *s,
            SizeExpr::Param(p) => p.span(),
            SizeExpr::Bin(a, _, _) => a.span(),
        }
    }

    /// The expression as written (`OUT * 4`).
    pub fn text(&self) -> String {
        match self {
            SizeExpr::Lit(v, _) => v.to_string(),
            SizeExpr::Param(p) => p.to_string(),
            SizeExpr::Bin(a, op, b) => {
                let side = |e: &SizeExpr| match e {
                    SizeExpr::Bin(..) => format!("({})", e.text()),
                    _ => e.text(),
                };
                format!("{} {op} {}", side(a), side(b))
            }
        }
    }
}

fn peek_op(input: ParseStream, ops: &[char]) -> Option<char> {
    let op = if input.peek(Token![+]) && !input.peek(Token![+=]) {
        '+'
    } else if input.peek(Token![-]) && !input.peek(Token![->]) && !input.peek(Token![-=]) {
        '-'
    } else if input.peek(Token![*]) && !input.peek(Token![*=]) {
        '*'
    } else if input.peek(Token![/]) && !input.peek(Token![/=]) {
        '/'
    } else if input.peek(Token![%]) && !input.peek(Token![%=]) {
        '%'
    } else {
        return None;
    };
    ops.contains(&op).then_some(op)
}

fn skip_op(input: ParseStream, op: char) -> syn::Result<()> {
    match op {
        '+' => input.parse::<Token![+]>().map(|_| ()),
        '-' => input.parse::<Token![-]>().map(|_| ()),
        '*' => input.parse::<Token![*]>().map(|_| ()),
        '/' => input.parse::<Token![/]>().map(|_| ()),
        _ => input.parse::<Token![%]>().map(|_| ()),
    }
}

/// A value of a `#[when(...)]` condition: comparisons and logic over sizes.
enum Value {
    Int(u64),
    Bool(bool),
}

/// Evaluates `#[when(...)]`'s condition with `env`'s parameters.
pub(crate) fn eval_condition(cond: &Expr, env: &Env<'_>) -> Result<bool, syn::Error> {
    match eval(cond, env)? {
        Value::Bool(b) => Ok(b),
        Value::Int(_) => Err(syn::Error::new(
            cond.span(),
            "`#[when(...)]` takes a condition, e.g. `#[when(STRIDE != 1 || IN != OUT)]`",
        )),
    }
}

fn eval(e: &Expr, env: &Env<'_>) -> Result<Value, syn::Error> {
    let unsupported = || {
        syn::Error::new(
            e.span(),
            "`#[when(...)]` compares the model's parameters and integers (`==`, `!=`, `<`, `<=`, `>`, `>=`, `+ - * / %`) and combines them with `&&`, `||` and `!`",
        )
    };
    match e {
        Expr::Paren(p) => eval(&p.expr, env),
        Expr::Group(g) => eval(&g.expr, env),
        Expr::Lit(l) => match &l.lit {
            Lit::Int(i) => Ok(Value::Int(i.base10_parse()?)),
            Lit::Bool(b) => Ok(Value::Bool(b.value)),
            _ => Err(unsupported()),
        },
        Expr::Path(p) => match p.path.get_ident() {
            Some(id) => Ok(Value::Int(env.get(id)?)),
            None => Err(unsupported()),
        },
        Expr::Unary(u) if matches!(u.op, UnOp::Not(_)) => match eval(&u.expr, env)? {
            Value::Bool(b) => Ok(Value::Bool(!b)),
            Value::Int(_) => Err(unsupported()),
        },
        Expr::Binary(b) => {
            let (x, y) = (eval(&b.left, env)?, eval(&b.right, env)?);
            match (x, y) {
                (Value::Bool(x), Value::Bool(y)) => match b.op {
                    BinOp::And(_) => Ok(Value::Bool(x && y)),
                    BinOp::Or(_) => Ok(Value::Bool(x || y)),
                    BinOp::Eq(_) => Ok(Value::Bool(x == y)),
                    BinOp::Ne(_) => Ok(Value::Bool(x != y)),
                    _ => Err(unsupported()),
                },
                (Value::Int(x), Value::Int(y)) => {
                    let int = |v: Option<u64>| {
                        v.map(Value::Int).ok_or_else(|| {
                            syn::Error::new(
                                e.span(),
                                format!(
                                    "this overflows, goes below zero or divides by zero in `{}`",
                                    env.model
                                ),
                            )
                        })
                    };
                    match b.op {
                        BinOp::Eq(_) => Ok(Value::Bool(x == y)),
                        BinOp::Ne(_) => Ok(Value::Bool(x != y)),
                        BinOp::Lt(_) => Ok(Value::Bool(x < y)),
                        BinOp::Le(_) => Ok(Value::Bool(x <= y)),
                        BinOp::Gt(_) => Ok(Value::Bool(x > y)),
                        BinOp::Ge(_) => Ok(Value::Bool(x >= y)),
                        BinOp::Add(_) => int(x.checked_add(y)),
                        BinOp::Sub(_) => int(x.checked_sub(y)),
                        BinOp::Mul(_) => int(x.checked_mul(y)),
                        BinOp::Div(_) => int(x.checked_div(y)),
                        BinOp::Rem(_) => int(x.checked_rem(y)),
                        _ => Err(unsupported()),
                    }
                }
                _ => Err(unsupported()),
            }
        }
        _ => Err(unsupported()),
    }
}
