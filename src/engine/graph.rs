//! The execution graph of a plan: which step waits for which. Pure.
//!
//! Creates, updates and replacements wait for the declared dependencies that are also being
//! changed. Deletes run in reverse: a resource is deleted only after everything that depends
//! on it is gone.

use crate::plan::{Action, Change};
use std::collections::HashMap;

/// Steps (indices into the change list) and what each waits for.
#[derive(Debug, Clone)]
pub struct Graph {
    /// For each step, the steps it waits for.
    pub waits_for: Vec<Vec<usize>>,
}

/// A dependency cycle among the named addresses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle among: {0:?}")]
pub struct Cycle(pub Vec<String>);

impl Graph {
    /// Builds the graph of the actionable changes in `changes`.
    pub fn new(changes: &[&Change]) -> Result<Graph, Cycle> {
        let index: HashMap<&str, usize> = changes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.address.as_str(), i))
            .collect();
        let mut waits_for = vec![Vec::new(); changes.len()];
        for (i, c) in changes.iter().enumerate() {
            for dep in &c.depends_on {
                let Some(&j) = index.get(dep.as_str()) else {
                    continue;
                };
                let (a, b) = (c.action, changes[j].action);
                let forward =
                    |x: Action| matches!(x, Action::Create | Action::Update | Action::Replace);
                if forward(a) && forward(b) {
                    waits_for[i].push(j);
                } else if a == Action::Delete && b == Action::Delete {
                    // j is deleted after i (i depends on j).
                    waits_for[j].push(i);
                } else if a == Action::Delete && b == Action::Replace {
                    // Remove the dependent before its dependency is recreated.
                    waits_for[j].push(i);
                }
            }
        }
        for w in &mut waits_for {
            w.sort_unstable();
            w.dedup();
        }
        let graph = Graph { waits_for };
        graph.order().map_err(|stuck| {
            Cycle(
                stuck
                    .into_iter()
                    .map(|i| changes[i].address.clone())
                    .collect(),
            )
        })?;
        Ok(graph)
    }

    /// A topological order, or the steps stuck in a cycle.
    pub fn order(&self) -> Result<Vec<usize>, Vec<usize>> {
        let n = self.waits_for.len();
        let mut pending: Vec<usize> = self.waits_for.iter().map(Vec::len).collect();
        let mut dependents = vec![Vec::new(); n];
        for (i, w) in self.waits_for.iter().enumerate() {
            for &j in w {
                dependents[j].push(i);
            }
        }
        let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop() {
            order.push(i);
            for &d in &dependents[i] {
                pending[d] -= 1;
                if pending[d] == 0 {
                    ready.push(d);
                }
            }
        }
        if order.len() == n {
            Ok(order)
        } else {
            Err((0..n).filter(|&i| pending[i] > 0).collect())
        }
    }

    /// For each step, the steps that wait for it.
    pub fn dependents(&self) -> Vec<Vec<usize>> {
        let mut dependents = vec![Vec::new(); self.waits_for.len()];
        for (i, w) in self.waits_for.iter().enumerate() {
            for &j in w {
                dependents[j].push(i);
            }
        }
        dependents
    }

    /// For each step, how many steps the longest chain starting at it holds (itself
    /// included): a step with a long chain behind it is on the critical path and should start
    /// before one that nothing waits for.
    pub fn depths(&self) -> Vec<usize> {
        let dependents = self.dependents();
        let order = self.order().expect("a graph is acyclic once built");
        let mut depth = vec![1; order.len()];
        // Dependents come later in a topological order: walk it backwards.
        for &i in order.iter().rev() {
            depth[i] = 1 + dependents[i].iter().map(|&d| depth[d]).max().unwrap_or(0);
        }
        depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn change(address: &str, action: Action, deps: &[&str]) -> Change {
        Change {
            address: address.into(),
            kind: Kind::S3Bucket,
            physical: address.into(),
            action,
            stateful: false,
            attributes: Vec::new(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            desired: None,
            live: None,
            outputs: Default::default(),
        }
    }

    fn position(order: &[usize], i: usize) -> usize {
        order.iter().position(|&x| x == i).unwrap()
    }

    #[test]
    fn creates_follow_their_dependencies() {
        let c = [
            change("notification", Action::Create, &["bucket", "topic"]),
            change("bucket", Action::Create, &[]),
            change("topic", Action::Update, &[]),
            change("unrelated", Action::Create, &["noop-thing"]),
        ];
        let refs: Vec<&Change> = c.iter().collect();
        let g = Graph::new(&refs).unwrap();
        assert_eq!(g.waits_for[0], vec![1, 2]);
        assert!(
            g.waits_for[3].is_empty(),
            "dependencies outside the plan are already done"
        );
        let order = g.order().unwrap();
        assert!(position(&order, 1) < position(&order, 0));
        assert!(position(&order, 2) < position(&order, 0));
    }

    #[test]
    fn deletes_run_in_reverse() {
        let c = [
            change("bucket", Action::Delete, &[]),
            change("policy", Action::Delete, &["bucket"]),
        ];
        let refs: Vec<&Change> = c.iter().collect();
        let g = Graph::new(&refs).unwrap();
        assert_eq!(
            g.waits_for[0],
            vec![1],
            "the bucket waits for its policy to go"
        );
        assert!(g.waits_for[1].is_empty());
    }

    #[test]
    fn depths_count_the_longest_chain_behind_a_step() {
        let c = [
            change("role", Action::Create, &[]),
            change("function", Action::Create, &["role"]),
            change("permission", Action::Create, &["function", "api"]),
            change("api", Action::Create, &[]),
            change("topic", Action::Create, &[]),
        ];
        let refs: Vec<&Change> = c.iter().collect();
        let g = Graph::new(&refs).unwrap();
        assert_eq!(g.depths(), vec![3, 2, 1, 2, 1]);
    }

    #[test]
    fn cycles_are_reported() {
        let c = [
            change("a", Action::Create, &["b"]),
            change("b", Action::Create, &["a"]),
        ];
        let refs: Vec<&Change> = c.iter().collect();
        let err = Graph::new(&refs).unwrap_err();
        assert_eq!(err.0, vec!["a".to_string(), "b".to_string()]);
    }
}
