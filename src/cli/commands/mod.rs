//! One file per command, one folder per command group. Each holds its clap `Args` (the doc
//! comments are the help text) and a `run(ui, ctx, args)` with the same signature.

pub mod approve;
pub mod assume;
pub mod assumptions;
pub mod bead;
pub mod blocked;
pub mod cost;
pub mod cron;
pub mod doctor;
pub mod gc;
pub mod generate;
pub mod hook;
pub mod hooks;
pub mod import;
pub mod init;
pub mod ledger;
pub mod log;
pub mod merge_driver;
pub mod pause;
pub mod plan;
pub mod ready;
pub mod reject;
pub mod resolve;
pub mod revise;
pub mod rollback;
pub mod show;
pub mod status;
pub mod step;
pub mod steps;
pub mod tick;
pub mod watch;

use clap::Subcommand;

use super::ui::Ui;
use super::{CommandResult, Context};

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::Args),
    #[command(subcommand)]
    Bead(bead::Command),
    Ready(ready::Args),
    Blocked(blocked::Args),
    Show(show::Args),
    Step(step::Args),
    Steps(steps::Args),
    Log(log::Args),
    Status(status::Args),
    Watch(watch::Args),
    Gc(gc::Args),
    Approve(approve::Args),
    Reject(reject::Args),
    Revise(revise::Args),
    Rollback(rollback::Args),
    Plan(plan::Args),
    Tick(tick::Args),
    Pause(pause::PauseArgs),
    Resume(pause::ResumeArgs),
    #[command(subcommand)]
    Cron(cron::Command),
    Assume(assume::Args),
    Assumptions(assumptions::ListArgs),
    #[command(subcommand)]
    Assumption(assumptions::Command),
    #[command(subcommand)]
    Ledger(ledger::Command),
    Cost(cost::Args),
    #[command(subcommand)]
    Hooks(hooks::Command),
    Doctor(doctor::Args),
    Resolve(resolve::Args),
    #[command(subcommand)]
    Import(import::Command),
    #[command(subcommand, hide = true)]
    Hook(hook::Command),
    #[command(hide = true)]
    MergeDriver(merge_driver::Args),
    #[command(hide = true)]
    Generate(generate::Args),
}

pub fn run(ui: &Ui, ctx: &Context, command: Command) -> CommandResult {
    match command {
        Command::Init(args) => init::run(ui, ctx, args),
        Command::Bead(cmd) => bead::run(ui, ctx, cmd),
        Command::Ready(args) => ready::run(ui, ctx, args),
        Command::Blocked(args) => blocked::run(ui, ctx, args),
        Command::Show(args) => show::run(ui, ctx, args),
        Command::Step(args) => step::run(ui, ctx, args),
        Command::Steps(args) => steps::run(ui, ctx, args),
        Command::Log(args) => log::run(ui, ctx, args),
        Command::Status(args) => status::run(ui, ctx, args),
        Command::Watch(args) => watch::run(ui, ctx, args),
        Command::Gc(args) => gc::run(ui, ctx, args),
        Command::Approve(args) => approve::run(ui, ctx, args),
        Command::Reject(args) => reject::run(ui, ctx, args),
        Command::Revise(args) => revise::run(ui, ctx, args),
        Command::Rollback(args) => rollback::run(ui, ctx, args),
        Command::Plan(args) => plan::run(ui, ctx, args),
        Command::Tick(args) => tick::run(ui, ctx, args),
        Command::Pause(args) => pause::run_pause(ui, ctx, args),
        Command::Resume(args) => pause::run_resume(ui, ctx, args),
        Command::Cron(cmd) => cron::run(ui, ctx, cmd),
        Command::Assume(args) => assume::run(ui, ctx, args),
        Command::Assumptions(args) => assumptions::list(ui, ctx, args),
        Command::Assumption(cmd) => assumptions::run(ui, ctx, cmd),
        Command::Ledger(cmd) => ledger::run(ui, ctx, cmd),
        Command::Cost(args) => cost::run(ui, ctx, args),
        Command::Hooks(cmd) => hooks::run(ui, ctx, cmd),
        Command::Doctor(args) => doctor::run(ui, ctx, args),
        Command::Resolve(args) => resolve::run(ui, ctx, args),
        Command::Import(cmd) => import::run(ui, ctx, cmd),
        Command::Hook(cmd) => hook::run(ui, ctx, cmd),
        Command::MergeDriver(args) => merge_driver::run(ui, ctx, args),
        Command::Generate(args) => generate::run(ui, ctx, args),
    }
}
