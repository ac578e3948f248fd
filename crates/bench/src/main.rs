//! `gdt-bench`: see the library's documentation and `gdt-bench --help`.

use std::process::ExitCode;

use clap::Parser as _;
use gdt_bench::cli::{Cli, Command};
use gdt_bench::error::Error;
use gdt_bench::processes::Tools;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        // Ctrl-C drops everything, and with it every process this run started.
        tokio::select! {
            outcome = run(cli) => outcome,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        }
    });
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Run(args) => {
            let tools = Tools::locate(args.tools.gdt.clone(), args.tools.temporal_cli.clone())?;
            let report = gdt_bench::bench::run(&args, &tools).await?;
            println!("{}", report.table());
            println!("\nreport: {}", args.out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Chaos(args) => {
            let tools = Tools::locate(args.tools.gdt.clone(), args.tools.temporal_cli.clone())?;
            let plan = gdt_bench::chaos::Plan::from_args(&args)?;
            let report = gdt_bench::chaos::run(&plan, &tools, &args.out).await?;
            println!("{}", report.table());
            println!("\nreport: {}", args.out.display());
            Ok(if report.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::CeilingWorker(args) => {
            let worker = gdt_bench::ceiling::CeilingWorker {
                temporal: args.temporal,
                task_queue: args.task_queue,
                max_concurrent_workflow: args.max_concurrent_workflow,
                max_concurrent_activity: args.max_concurrent_activity,
            };
            worker.run().await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
