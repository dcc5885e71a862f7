use super::*;

fn repo() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(&root).unwrap();
    let git = Git::new(&root);
    git.run(&["init", "-q", "-b", "main"]).unwrap();
    std::fs::write(root.join("a"), "a").unwrap();
    git.run(&["add", "a"]).unwrap();
    git.run(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "a",
    ])
    .unwrap();
    let wt = dir.path().join("wt");
    git.run(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "forge/x/1",
        &wt.to_string_lossy(),
    ])
    .unwrap();
    let common = root.join(".git");
    let admin = admin_dir(&common, &wt).unwrap();
    (dir, root, wt, admin)
}

fn watched<'a>(root: &'a Path, common: &'a Path, wt: &'a Path, admin: &'a Path) -> Watched<'a> {
    Watched {
        root,
        common_dir: common,
        worktree: wt,
        admin_dir: admin,
        branch_ref: "refs/heads/forge/x/1",
        full: true,
    }
}

#[test]
fn each_attack_is_named() {
    let (_d, root, wt, admin) = repo();
    let common = root.join(".git");
    let w = watched(&root, &common, &wt, &admin);
    let before = take(&w).unwrap();
    assert!(compare(&w, &before, &take(&w).unwrap()).is_empty());
    let git = Git::new(&wt);
    git.run(&["symbolic-ref", "HEAD", "refs/heads/main"])
        .unwrap();
    git.run(&["config", "core.hooksPath", "/tmp/x"]).unwrap();
    git.run(&["update-ref", "refs/heads/evil", "HEAD"]).unwrap();
    git.run(&["commit-tree", "-m", "x", "HEAD^{tree}"]).unwrap();
    std::fs::write(common.join("hooks/pre-commit"), "#!/bin/sh\n").unwrap();
    std::fs::write(root.join("a"), "changed").unwrap();
    std::fs::write(wt.join(".git"), format!("gitdir: {}\n", common.display())).unwrap();
    let found: Vec<String> = compare(&w, &before, &take(&w).unwrap())
        .into_iter()
        .map(|v| v.what)
        .collect();
    let all = found.join("\n");
    for want in [
        "the worktree's HEAD",
        ".git/config: core.hooksPath",
        "created refs/heads/evil",
        "created .git/hooks/pre-commit",
        "changed the checkout: a",
        "the worktree's .git file",
    ] {
        assert!(all.contains(want), "{want} missing from:\n{all}");
    }
}

#[test]
fn config_hooks_and_info_changes_touch_the_config() {
    let (_d, root, wt, admin) = repo();
    let common = root.join(".git");
    let w = watched(&root, &common, &wt, &admin);
    for change in [
        |c: &Path| {
            Git::new(c)
                .run(&["config", "--file", "config", "filter.x.clean", "cat"])
                .map(drop)
                .unwrap()
        },
        |c: &Path| std::fs::write(c.join("hooks/post-index-change"), "x").unwrap(),
        |c: &Path| std::fs::write(c.join("info/attributes"), "* filter=x\n").unwrap(),
    ] {
        let before = take(&w).unwrap();
        change(&common);
        let found = compare(&w, &before, &take(&w).unwrap());
        assert!(
            !found.is_empty() && found.iter().all(|v| v.touches_config),
            "{found:?}"
        );
    }
    // The worktree's own HEAD is not the repository's config.
    let before = take(&w).unwrap();
    Git::new(&wt).run(&["checkout", "-q", "--detach"]).unwrap();
    let found = compare(&w, &before, &take(&w).unwrap());
    assert!(
        !found.is_empty() && found.iter().all(|v| !v.touches_config),
        "{found:?}"
    );
}

#[test]
fn the_step_branch_and_forge_refs_are_not_violations() {
    let (_d, root, wt, admin) = repo();
    let common = root.join(".git");
    let w = watched(&root, &common, &wt, &admin);
    let before = take(&w).unwrap();
    let git = Git::new(&root);
    git.run(&["update-ref", "refs/heads/forge/x/1", "HEAD"])
        .unwrap();
    git.run(&["update-ref", "refs/forge/attic/x.1", "HEAD"])
        .unwrap();
    assert_eq!(compare(&w, &before, &take(&w).unwrap()), Vec::new());
}

#[test]
fn without_full_the_checkout_and_refs_are_not_read() {
    let (_d, root, wt, admin) = repo();
    let common = root.join(".git");
    let mut w = watched(&root, &common, &wt, &admin);
    w.full = false;
    let before = take(&w).unwrap();
    std::fs::write(root.join("a"), "user's own edit").unwrap();
    assert_eq!(compare(&w, &before, &take(&w).unwrap()), Vec::new());
}
